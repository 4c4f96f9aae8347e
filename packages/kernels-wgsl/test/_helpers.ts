/**
 * Shared by the tests: one backend per test file (one device per worker process), and the skip rule — a missing
 * adapter skips with its reason, except under CI where the tests run and fail.
 */
import type { Backend, Dtype, L2Mode, Pipeline, Problem, ProblemInit, Variant } from '@attn/reference';
import { checkSession, freshSeed, makeProblem, randomInputs, SMALL_ODD_SHAPES } from '@attn/reference';
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

export const VARIANTS = ['naive', 'tiled'] as const;

export interface Case {
  name: string;
  problem: Problem;
  variant: Variant;
}

/** The label of a problem in test names: 'bh=1 nq=17 nk=64 d=40 dv=40 causal'. */
export function shapeName(p: Problem): string {
  return `bh=${p.bh} nq=${p.nq} nk=${p.nk} d=${p.d} dv=${p.dv}${p.causal ? ' causal' : ''}${p.dtype === 'float32' ? '' : ` ${p.dtype}`}`;
}

/**
 * Every shape causal and not, under each variant (default: naive and tiled), in `dtype`; shapes default to
 * SMALL_ODD_SHAPES.
 */
export function cases(shapes: readonly ProblemInit[] = SMALL_ODD_SHAPES, variants: readonly Variant[] = VARIANTS, dtype: Dtype = 'float32'): Case[] {
  const out: Case[] = [];
  for (const { bh, nq, nk, d, dv } of shapes) {
    for (const causal of [false, true]) {
      for (const variant of variants) {
        const p = makeProblem({ bh, nq, nk, d, ...(dv === undefined ? {} : { dv }), causal, dtype });
        out.push({ name: `${variant} ${shapeName(p)}`, problem: p, variant });
      }
    }
  }
  return out;
}

/**
 * Opens a session of `variant`, checks `pipeline` on every shape causal and not (fresh seed each) in `dtype` (the
 * accuracy rule against the textbook in that dtype), disposes.
 */
export async function checkShapes(b: Backend, variant: Variant, shapes: readonly ProblemInit[], pipeline: Pipeline, dtype: Dtype = 'float32'): Promise<string[]> {
  const failures: string[] = [];
  for (const c of cases(shapes, [variant], dtype)) {
    const s = await b.open(c.problem, variant);
    try {
      const seed = freshSeed();
      for (const f of (await checkSession(s, { pipeline, seed })).failures) failures.push(`${c.name}: ${f}`);
    } finally {
      await s.dispose();
    }
  }
  return failures;
}

/**
 * The unrolled form of a generation on small tiles (unrolled.test.ts; score-magnitude.test.ts runs version 5's on the
 * same head dims, so lavapipe's shader cache serves it): unroll=1 is the GPU default, and wgmem=6144 keeps the tiles
 * small enough for lavapipe to compile version 5's unrolled chunk loops in seconds.
 */
export const unrolled = (v: number): string => `tiled@v${v}+unroll=1+wgmem=6144`;

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
