/**
 * GPU clocks around a timed sweep, from nvidia-smi: one reading at the start, one at the end, and one every few
 * seconds in between of which those taken while the GPU was busy are kept in summary (first, last, lowest and
 * highest SM clock). A sweep whose clocks fell, or whose GPU reported a slowdown, is flagged (clockFlags).
 * No nvidia-smi (or a failing one) is recorded as unavailable with the reason, never an error.
 */
import { execFile } from 'node:child_process';
import type { ClockReading, GpuClocks } from './results.js';

/** A busy SM clock under this fraction of the highest busy one counts as fallen. */
export const CLOCK_FALL_FRACTION = 0.9;

/** nvidia-smi's clocks_throttle_reasons bits (nvml.h, nvmlClocksThrottleReason*). */
const THROTTLE_BITS: readonly [number, string][] = [
  [0x1, 'GpuIdle'],
  [0x2, 'ApplicationsClocksSetting'],
  [0x4, 'SwPowerCap'],
  [0x8, 'HwSlowdown'],
  [0x10, 'SyncBoost'],
  [0x20, 'SwThermalSlowdown'],
  [0x40, 'HwThermalSlowdown'],
  [0x80, 'HwPowerBrakeSlowdown'],
  [0x100, 'DisplayClockSetting'],
];
/** The reasons that mean the chip slowed itself down (power or heat), as opposed to idling or a clock setting. */
export const SLOWDOWNS: readonly string[] = ['SwPowerCap', 'HwSlowdown', 'SwThermalSlowdown', 'HwThermalSlowdown', 'HwPowerBrakeSlowdown'];

const FIELDS = ['name', 'clocks.sm', 'clocks.mem', 'power.draw', 'temperature.gpu', 'clocks_throttle_reasons.active', 'clocks.max.sm', 'clocks.max.mem'];

export interface SmiReading {
  gpu: string;
  reading: ClockReading;
  maxSmMHz: number | null;
  maxMemMHz: number | null;
}

export type SmiRunner = (args: string[]) => Promise<string>;

const runSmi: SmiRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('nvidia-smi', args, { timeout: 15_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'nvidia-smi not found' : `nvidia-smi failed: ${(stderr || stdout || error.message).trim().split('\n')[0]}`;
        reject(new Error(why));
      } else resolve(stdout);
    });
  });

export function throttleNames(hex: string | null): string[] {
  if (!hex || !/^0x[0-9a-f]+$/i.test(hex)) return [];
  const bits = BigInt(hex);
  return THROTTLE_BITS.filter(([bit]) => (bits & BigInt(bit)) !== 0n).map(([, name]) => name);
}

const number = (s: string | undefined): number | null => {
  const x = Number(s?.trim());
  return s === undefined || s.trim() === '' || !Number.isFinite(x) ? null : x;
};

/** The GPU nvidia-smi should read: the first of CUDA_VISIBLE_DEVICES (an index or a UUID), else 0. */
function gpuId(): string {
  const first = process.env.CUDA_VISIBLE_DEVICES?.split(',')[0]?.trim();
  return first ? first : '0';
}

/** One reading of the sweep's GPU; rejects with a one-line reason when nvidia-smi is missing or fails. */
export async function readClocks(run: SmiRunner = runSmi): Promise<SmiReading> {
  const args = (fields: string[]): string[] => [`--id=${gpuId()}`, `--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
  let out: string;
  try {
    out = await run(args(FIELDS));
  } catch (e) {
    // newer drivers call the field clocks_event_reasons
    if (!/not a valid field|invalid/i.test((e as Error).message)) throw e;
    out = await run(args(FIELDS.map((f) => f.replace('clocks_throttle_reasons', 'clocks_event_reasons'))));
  }
  const line = out.trim().split('\n')[0] ?? '';
  const cells = line.split(',').map((c) => c.trim());
  if (cells.length < FIELDS.length) throw new Error(`nvidia-smi printed '${line.slice(0, 120)}', not ${FIELDS.length} fields`);
  const hex = /^0x[0-9a-f]+$/i.test(cells[5]!) ? cells[5]! : null;
  return {
    gpu: cells[0]!,
    reading: {
      at: new Date().toISOString(),
      smMHz: number(cells[1]),
      memMHz: number(cells[2]),
      powerW: number(cells[3]),
      temperatureC: number(cells[4]),
      throttleReasons: hex,
      throttleNames: throttleNames(hex),
    },
    maxSmMHz: number(cells[6]),
    maxMemMHz: number(cells[7]),
  };
}

const isBusy = (r: ClockReading): boolean => !r.throttleNames.includes('GpuIdle');

/** Reads the clocks at start(), every intervalMs while running, and at stop(). */
export class ClockSampler {
  private clocks: GpuClocks = { start: null, end: null };
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly intervalMs = 5_000,
    private readonly run: SmiRunner = runSmi,
  ) {}

  async start(): Promise<void> {
    try {
      const first = await readClocks(this.run);
      this.clocks = {
        gpu: first.gpu,
        maxSmMHz: first.maxSmMHz,
        maxMemMHz: first.maxMemMHz,
        start: first.reading,
        end: null,
        busy: { intervalMs: this.intervalMs, samples: 0, first: null, last: null, lowestSm: null, highestSm: null },
      };
    } catch (e) {
      this.clocks = { unavailable: (e as Error).message, start: null, end: null };
      return;
    }
    this.timer = setInterval(() => {
      this.inFlight = this.inFlight.then(() => this.sample());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async sample(): Promise<void> {
    let r: ClockReading;
    try {
      r = (await readClocks(this.run)).reading;
    } catch {
      return; // a missed reading is not worth failing a sweep for; the start and end readings say nvidia-smi worked
    }
    const busy = this.clocks.busy;
    if (!busy || !isBusy(r)) return;
    busy.samples++;
    busy.first ??= r;
    busy.last = r;
    if (r.smMHz !== null && (busy.lowestSm?.smMHz == null || r.smMHz < busy.lowestSm.smMHz)) busy.lowestSm = r;
    if (r.smMHz !== null && (busy.highestSm?.smMHz == null || r.smMHz > busy.highestSm.smMHz)) busy.highestSm = r;
  }

  async stop(): Promise<GpuClocks> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    if (this.clocks.unavailable === undefined) {
      try {
        this.clocks.end = (await readClocks(this.run)).reading;
      } catch (e) {
        this.clocks.end = null;
        this.clocks.unavailable = `end reading: ${(e as Error).message}`;
      }
    }
    return this.clocks;
  }
}

/**
 * Why the clocks of a sweep are suspect, one line each (empty when they are not): a slowdown reason (power cap,
 * thermal, hardware slowdown) in any reading, or the SM clock falling under CLOCK_FALL_FRACTION of its highest
 * value among the busy readings, or from start to end when both were busy.
 */
export function clockFlags(c: GpuClocks | undefined): string[] {
  if (!c || (c.unavailable !== undefined && !c.start)) return [];
  const flags: string[] = [];
  const named: [string, ClockReading | null | undefined][] = [
    ['start', c.start],
    ['end', c.end],
    ['a busy reading', c.busy?.lowestSm],
    ['a busy reading', c.busy?.highestSm],
    ['a busy reading', c.busy?.first],
    ['a busy reading', c.busy?.last],
  ];
  const slowed = new Map<string, Set<string>>();
  for (const [when, r] of named) {
    for (const n of r?.throttleNames ?? []) {
      if (!SLOWDOWNS.includes(n)) continue;
      if (!slowed.has(n)) slowed.set(n, new Set());
      slowed.get(n)!.add(when);
    }
  }
  for (const [reason, whens] of slowed) flags.push(`slowdown ${reason} at ${[...whens].join(', ')}`);
  const lo = c.busy?.lowestSm?.smMHz;
  const hi = c.busy?.highestSm?.smMHz;
  if (lo != null && hi != null && lo < CLOCK_FALL_FRACTION * hi) flags.push(`SM clock fell to ${lo} MHz while busy (highest busy reading ${hi} MHz)`);
  const s = c.start;
  const e = c.end;
  if (s && e && isBusy(s) && isBusy(e) && s.smMHz !== null && e.smMHz !== null && e.smMHz < CLOCK_FALL_FRACTION * s.smMHz) {
    flags.push(`SM clock fell from ${s.smMHz} MHz at start to ${e.smMHz} MHz at end`);
  }
  return flags;
}
