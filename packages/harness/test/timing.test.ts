import type { KernelStage, Session, StageTimings } from '@attn/reference';
import { expect, test } from 'vitest';
import { percentile, summarize, timeStages } from '../src/timing.js';

/** A session whose time() reports durations from a list (as a GPU clock would), and counts its calls. */
function clockSession(durations: number[]) {
  const calls: { stages: readonly KernelStage[]; warmup: number; samples: number }[] = [];
  let i = 0;
  const session = {
    async time(stages: readonly KernelStage[], o: { warmup: number; samples: number }): Promise<StageTimings> {
      calls.push({ stages, warmup: o.warmup, samples: o.samples });
      const ms = durations[i++ % durations.length]!;
      return { source: 'gpu-timer', totalMs: [ms], perStageMs: { lse: [ms / 4], forward: [(3 * ms) / 4] } };
    },
  } as unknown as Session;
  return { session, calls };
}

test('tinybench statistics come from the device clock (overriddenDuration), with per-stage split', async () => {
  const durations = [5, 1, 2, 3, 4];
  const { session, calls } = clockSession(durations);
  const t = await timeStages(session, ['lse', 'forward'], { warmup: 2, minSamples: 10, budgetMs: 1 });
  // the explicit warm-up call first, then one run per tinybench sample
  expect(calls[0]).toEqual({ stages: ['lse', 'forward'], warmup: 1, samples: 1 });
  expect(calls.slice(1).every((c) => c.warmup === 0 && c.samples === 1)).toBe(true);
  expect(t.total.samples).toBe(calls.length - 1);
  expect(t.total.source).toBe('gpu-timer');
  // the warm-up consumed durations[0] = 5; samples cycle 1,2,3,4,5,…: the median is 3 whatever the count
  expect(t.total.medianMs).toBe(3);
  expect(t.perStage.lse!.medianMs).toBe(0.75);
  expect(t.perStage.forward!.medianMs).toBe(2.25);
  expect(t.total.p10Ms).toBeLessThan(t.total.medianMs);
  expect(t.total.p90Ms).toBeGreaterThan(t.total.medianMs);
  expect(t.total.rme).toBeGreaterThan(0);
});

test('sampling continues until the wall-time budget is spent', async () => {
  const { session } = clockSession([0.01]);
  const slow = { time: async (...a: Parameters<Session['time']>) => (await new Promise((r) => setTimeout(r, 5)), session.time(...a)) } as unknown as Session;
  const t = await timeStages(slow, ['lse'], { warmup: 0, minSamples: 2, budgetMs: 100 });
  expect(t.total.samples).toBeGreaterThan(5);
});

test('percentiles interpolate linearly; summarize gives median, p10, p90', () => {
  expect(percentile([1, 2, 3, 4, 5], 0.5)).toBe(3);
  expect(percentile([1, 2, 3, 4, 5], 0.1)).toBeCloseTo(1.4, 12);
  const s = summarize([10, 1, 9, 2, 8, 3, 7, 4, 6, 5, 11], 'wall');
  expect([s.medianMs, s.p10Ms, s.p90Ms, s.samples, s.source]).toEqual([6, 2, 10, 11, 'wall']);
});

test('a session that reports no valid duration is an error, not a zero', async () => {
  const session = { time: async () => ({ source: 'gpu-timer', totalMs: [NaN], perStageMs: {} }) } as unknown as Session;
  await expect(timeStages(session, ['lse'], { warmup: 0, minSamples: 3, budgetMs: 1 })).rejects.toThrow('no valid duration');
});

test('the L2 mode is passed to every Session.time call; the statistics say what the backend did', async () => {
  const asked: (string | undefined)[] = [];
  const session = (did: 'cold' | 'warm' | undefined) =>
    ({
      async time(_s: readonly KernelStage[], o: { l2?: string }): Promise<StageTimings> {
        asked.push(o.l2);
        return { source: 'gpu-timer', totalMs: [1], perStageMs: { lse: [1] }, ...(did ? { l2: did } : {}) };
      },
    }) as unknown as Session;
  const cold = await timeStages(session('cold'), ['lse'], { warmup: 2, minSamples: 3, budgetMs: 0.5, l2: 'cold' });
  expect(asked.length).toBeGreaterThanOrEqual(4);
  expect(asked.every((x) => x === 'cold')).toBe(true);
  expect(cold.total.l2).toBe('cold');
  expect(cold.perStage.lse!.l2).toBe('cold');
  // a backend that cannot scrub (the CPU reference) answers without l2: the record says warm
  expect((await timeStages(session(undefined), ['lse'], { warmup: 0, minSamples: 2, budgetMs: 0.5, l2: 'cold' })).total.l2).toBe('warm');
  asked.length = 0;
  await timeStages(session(undefined), ['lse'], { warmup: 0, minSamples: 2, budgetMs: 0.5 });
  expect(asked.every((x) => x === 'warm')).toBe(true);
});
