/**
 * Shared by the tests: one backend per test file (one device per worker process), and the skip rule — a missing
 * adapter skips with its reason, except under CI where the tests run and fail.
 */
import type { Backend, L2Mode, Pipeline, Problem, ProblemInit, Variant } from '@attn/reference';
import { checkSession, freshSeed, makeProblem, randomInputs } from '@attn/reference';
import { expect } from 'vitest';
import { createWgslBackend } from '../src/index.js';

export const backend: Backend = createWgslBackend();
export const unavailable: string | null = await backend.availability();
/** true: skip GPU tests (no adapter, not CI) */
export const skipGpu = unavailable !== null && !process.env.CI;

export function problem(init: ProblemInit): Problem {
  return makeProblem(init);
}

/** Opens a session, checks `pipeline` on fresh seeded inputs against the float64 reference, disposes. */
export async function checkCase(p: Problem, variant: Variant, pipeline: Pipeline, seed = freshSeed()): Promise<string[]> {
  const session = await backend.open(p, variant);
  try {
    const result = await checkSession(session, { pipeline, seed });
    return result.failures;
  } finally {
    await session.dispose();
  }
}

/**
 * The correctness shapes: N ∈ {1, 17, 64, 129} with nq ≠ nk (nq > nk gives causal rows that see no key), d ∈ {8, 40,
 * 64, 128} plus odd d and dv ≠ d, bh ∈ {1, 3}. Every stage test runs each shape causal and not, naive and tiled.
 */
export const SHAPES: readonly ProblemInit[] = [
  { bh: 1, nq: 1, nk: 1, d: 8 },
  { bh: 3, nq: 17, nk: 64, d: 40 },
  { bh: 1, nq: 129, nk: 17, d: 64 },
  { bh: 3, nq: 64, nk: 129, d: 8 },
  { bh: 1, nq: 17, nk: 17, d: 128 },
  { bh: 1, nq: 64, nk: 17, d: 3, dv: 40 },
];

/**
 * Backward shapes: SHAPES with the 1 × 1 problem replaced by nq = 1, nk = 17. With one key, P = 1 and dS = P·(dP − D)
 * is exactly 0 (D = dO·O = dO·V = dP), so dQ and dK are zero up to rounding and their relative error is meaningless.
 */
export const BACKWARD_SHAPES: readonly ProblemInit[] = [{ bh: 1, nq: 1, nk: 17, d: 8 }, ...SHAPES.slice(1)];

export const VARIANTS = ['naive', 'tiled'] as const;

export interface Case {
  name: string;
  problem: Problem;
  variant: (typeof VARIANTS)[number];
}

export function cases(shapes: readonly ProblemInit[] = SHAPES): Case[] {
  const out: Case[] = [];
  for (const init of shapes) {
    for (const causal of [false, true]) {
      for (const variant of VARIANTS) {
        const p = makeProblem({ ...init, causal });
        out.push({ name: `${variant} bh=${p.bh} nq=${p.nq} nk=${p.nk} d=${p.d} dv=${p.dv}${causal ? ' causal' : ''}`, problem: p, variant });
      }
    }
  }
  return out;
}

/**
 * Times lse → forward → backward for 11 samples (more than one submit's worth: 8 runs per submit) and checks the
 * shape of the answer: one finite positive sample per run and per stage, stages adding up within each run's total.
 * Returns the source the timings came from.
 */
export async function expectPerStageTimings(timed: Backend, variant: Variant, l2: L2Mode = 'warm'): Promise<string> {
  const p = problem({ bh: 2, nq: 33, nk: 40, d: 16, causal: true });
  const s = await timed.open(p, variant);
  try {
    await s.write(randomInputs(p, 99));
    const stages = ['lse', 'forward', 'backward'] as const;
    const t = await s.time(stages, { warmup: 2, samples: 11, l2 });
    expect(t.source).toBe((await timed.info()).timer);
    expect(t.l2).toBe(l2);
    expect(t.totalMs).toHaveLength(11);
    for (const stage of stages) {
      const per = t.perStageMs[stage]!;
      expect(per).toHaveLength(11);
      expect(per.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
    }
    t.totalMs.forEach((total, i) => {
      const sum = stages.reduce((acc, st) => acc + t.perStageMs[st]![i]!, 0);
      expect(total).toBeGreaterThanOrEqual(sum * 0.999);
    });
    return t.source;
  } finally {
    await s.dispose();
  }
}
