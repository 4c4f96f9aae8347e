/**
 * Timing one point: tinybench drives the sampling loop, the device's own clock supplies each duration.
 * Each tinybench iteration is one Session.time call of one timed run; its GPU-measured total is fed back as
 * `overriddenDuration`, and the per-stage split of the same runs is kept alongside.
 */
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import type { KernelStage, L2Mode, Session, TimerSource } from '@attn/reference';
import type { TimingStats } from './results.js';

export interface TimingOptions {
  /** discarded runs before sampling (the first passes after pipeline creation are slow) */
  warmup: number;
  /** at least this many samples … */
  minSamples: number;
  /** … and keep sampling until this much wall time has passed (ms) */
  budgetMs: number;
  /** cache state before each sample (TimeOptions.l2); absent: warm */
  l2?: L2Mode;
  signal?: AbortSignal;
}

export interface StagedTiming {
  /** all requested stages back to back */
  total: TimingStats;
  /** each stage alone, where the backend split the runs */
  perStage: Partial<Record<KernelStage, TimingStats>>;
}

/** Linear interpolation between order statistics (the convention tinybench uses). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Median, p10, p90 and the 95% relative margin of error of the mean (Student t, as tinybench). */
export function summarize(samples: readonly number[], source: TimerSource, rme?: number, l2?: L2Mode): TimingStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  let margin = rme;
  if (margin === undefined) {
    const sd = n > 1 ? Math.sqrt(sorted.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
    margin = n > 1 ? (100 * tCritical95(n - 1) * (sd / Math.sqrt(n))) / mean : 0;
  }
  return {
    medianMs: percentile(sorted, 0.5),
    p10Ms: percentile(sorted, 0.1),
    p90Ms: percentile(sorted, 0.9),
    rme: margin,
    samples: n,
    source,
    ...(l2 ? { l2 } : {}),
  };
}

/** Two-sided 95% Student t critical value (table to 30 degrees of freedom, then the normal limit's approach). */
function tCritical95(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
  return df <= 30 ? table[df - 1]! : 1.96 + 2.4 / df;
}

export class TimingAborted extends Error {
  override readonly name = 'TimingAborted';
}

/** Time `stages` on a session whose inputs are already on the device. Never caches: every sample is a fresh run. */
export async function timeStages(session: Session, stages: readonly KernelStage[], options: TimingOptions): Promise<StagedTiming> {
  const l2 = options.l2 ?? 'warm';
  if (options.warmup > 0) await session.time(stages, { warmup: options.warmup - 1, samples: 1, l2 });
  let source: TimerSource = 'wall';
  // what the backend did: it may not scrub when asked (a CPU backend has no L2 to scrub)
  let done: L2Mode = 'cold';
  const perStage: Partial<Record<KernelStage, number[]>> = {};
  const totals: number[] = [];
  const bench = new Bench({
    iterations: options.minSamples,
    time: options.budgetMs,
    warmup: false,
    retainSamples: true,
    throws: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  bench.add('point', async () => {
    const started = performance.now();
    const t = await session.time(stages, { warmup: 0, samples: 1, l2 });
    // the sample's statistic is the device's duration; what it cost (toward the budget) is the wall time it took
    const wallMs = performance.now() - started;
    const ms = t.totalMs[0];
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) throw new Error(`Session.time returned no valid duration (${String(ms)})`);
    source = t.source;
    if ((t.l2 ?? 'warm') === 'warm') done = 'warm';
    totals.push(ms);
    for (const s of stages) {
      const x = t.perStageMs[s]?.[0];
      if (x !== undefined) (perStage[s] ??= []).push(x);
    }
    return { overriddenDuration: ms, overriddenIterationCost: wallMs };
  });
  await bench.run();
  if (options.signal?.aborted) throw new TimingAborted('timing interrupted');
  const result = bench.tasks[0]!.result;
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed' || totals.length === 0) throw new Error(`timing did not complete (tinybench state ${result.state})`);
  const split: Partial<Record<KernelStage, TimingStats>> = {};
  for (const s of stages) {
    const xs = perStage[s];
    // only a split covering every sample is comparable with the total
    if (xs && xs.length === totals.length) split[s] = summarize(xs, source, undefined, done);
  }
  return { total: summarize(totals, source, result.latency.rme, done), perStage: split };
}
