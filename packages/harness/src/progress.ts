/**
 * Sweep progress: a one-line bar with ETA redrawn in place on a terminal, one plain line per step otherwise
 * (CI logs, pipes), so either way a reader sees what is running and how long is left.
 */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private done = 0;
  private readonly started: number;
  private lastLine = '';

  constructor(
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** ETA from the mean time per finished step so far. */
  eta(): number {
    if (this.done === 0) return NaN;
    return ((this.now() - this.started) / this.done) * (this.total - this.done);
  }

  /** Say what is starting (redraws the bar on a TTY; silent otherwise, the result line follows). */
  start(label: string): void {
    if (this.stream.isTTY) this.draw(label);
  }

  /** One step finished, with its outcome. */
  step(label: string, outcome: string): void {
    this.done++;
    const counter = `[${this.done}/${this.total}]`;
    if (this.stream.isTTY) {
      if (/^(failed|skipped)/.test(outcome)) {
        this.clear();
        this.stream.write(`${counter} ${label}: ${outcome}\n`);
      }
      this.draw(label);
    } else {
      this.stream.write(`${counter} ${label}: ${outcome} (eta ${formatDuration(this.eta())})\n`);
    }
  }

  /** Leave the terminal clean before other output. */
  clear(): void {
    if (this.stream.isTTY && this.lastLine) {
      this.stream.write('\r\x1b[2K');
      this.lastLine = '';
    }
  }

  /** A bar line, width-bounded: `[####......] 12/80 15% eta 1m05s  cuda/tiled fwd N=…` */
  bar(label: string, width = this.stream.columns ?? 100): string {
    const frac = this.total === 0 ? 1 : this.done / this.total;
    const cells = 20;
    const filled = Math.round(frac * cells);
    const head = `[${'#'.repeat(filled)}${'.'.repeat(cells - filled)}] ${this.done}/${this.total} ${Math.floor(frac * 100)}% eta ${formatDuration(this.eta())}  `;
    const room = Math.max(0, width - head.length - 1);
    return head + (label.length > room ? `${label.slice(0, Math.max(0, room - 1))}…` : label);
  }

  private draw(label: string): void {
    this.lastLine = this.bar(label);
    this.stream.write(`\r\x1b[2K${this.lastLine}`);
  }
}
