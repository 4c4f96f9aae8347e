/**
 * The python side of the torch peer as a child process: one JSON request per line on its stdin, one JSON reply per
 * line on its stdout, requests answered in order (torch_server.py states the protocol). Tensors travel as raw
 * float32 files in a temporary folder this module owns and removes at close.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ServerReply {
  ok: boolean;
  /** why the request failed (one line) */
  error?: string;
  /** why the SDPA backend does not take the problem (one line): a skip, not a failure */
  refused?: string;
  [key: string]: unknown;
}

/** The first non-empty line of a message (the server's replies should be one line; this makes sure). */
export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? text.trim();
}

export class TorchServerError extends Error {
  override readonly name = 'TorchServerError';
}

interface Pending {
  resolve(reply: ServerReply): void;
  reject(error: Error): void;
}

/** The folder tensors pass through: /dev/shm when there is one (no disk), else the OS temp folder. */
function tensorDir(): string {
  for (const base of ['/dev/shm', tmpdir()]) {
    try {
      if (existsSync(base)) return mkdtempSync(join(base, 'attn-torch-'));
    } catch {
      // not writable: try the next
    }
  }
  return mkdtempSync(join(tmpdir(), 'attn-torch-'));
}

export class TorchServer {
  /** where request files go; removed at close */
  readonly dir: string;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Pending[] = [];
  private readonly stderrTail: string[] = [];
  private exited: string | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  /**
   * Starts `python script`. `log` gets the server's stderr lines (torch's warnings, its own notes).
   * Spawn failures (no python3) surface on the first request as a TorchServerError.
   */
  constructor(python: string, script: string, private readonly log: (line: string) => void, env: Record<string, string> = {}) {
    this.dir = tensorDir();
    this.child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env, PYTHONUNBUFFERED: '1' } });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      if (!line.trim()) return;
      this.stderrTail.push(line);
      if (this.stderrTail.length > 5) this.stderrTail.shift();
      this.log(line);
    });
    this.child.on('error', (e) => this.onExit(`cannot start ${python}: ${e.message}`));
    this.child.on('exit', (code, signal) => {
      const last = this.stderrTail.at(-1);
      this.onExit(`torch server exited (${signal ?? `code ${code}`})${last ? `: ${last.trim()}` : ''}`);
    });
    // a closed pipe is reported by 'exit'; without a listener it would be an uncaught error
    this.child.stdin.on('error', () => undefined);
  }

  get alive(): boolean {
    return this.exited === null;
  }

  /** The process id (tests check that close ends it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private onLine(line: string): void {
    const waiter = this.pending.shift();
    if (!waiter) {
      this.log(`unexpected output: ${line.slice(0, 200)}`);
      return;
    }
    try {
      const reply = JSON.parse(line) as ServerReply;
      if (typeof reply !== 'object' || reply === null || typeof reply.ok !== 'boolean') throw new Error('no "ok" field');
      waiter.resolve(reply);
    } catch (e) {
      waiter.reject(new TorchServerError(`torch server sent a line that is not a reply (${(e as Error).message}): ${line.slice(0, 200)}`));
    }
  }

  private onExit(why: string): void {
    if (this.exited !== null) return;
    this.exited = why;
    for (const waiter of this.pending.splice(0)) waiter.reject(new TorchServerError(why));
  }

  /** Sends one request and resolves with its reply; requests queue, one in flight at a time. */
  request(op: string, fields: Record<string, unknown> = {}): Promise<ServerReply> {
    const next = this.chain.then(
      () =>
        new Promise<ServerReply>((resolve, reject) => {
          if (this.exited !== null) return reject(new TorchServerError(this.exited));
          this.pending.push({ resolve, reject });
          this.child.stdin.write(`${JSON.stringify({ op, ...fields })}\n`);
        }),
    );
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Asks the server to stop, ends it if it does not within `graceMs`, removes the tensor folder. */
  async close(graceMs = 5000): Promise<void> {
    if (this.exited === null) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.request('bye').catch(() => undefined);
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
