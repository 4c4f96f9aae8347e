/**
 * On a CUDA device: every stage × variant × causal/not against the float64 reference (checkSession: fresh seeded
 * inputs, outputs poisoned, unwritten/non-finite/relL2 checks) on odd shapes, Nq ≠ Nk, and d not a power of two.
 * Skipped, with the availability line as the reason, where there is no device.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Pipeline, Problem, Variant } from '@attn/reference';
import { checkSession, makeProblem } from '@attn/reference';
import { createCudaBackend } from '../src/index.js';
import { GPU_MISSING } from './_helpers.js';

const backend = createCudaBackend();
const SHAPES: [nq: number, nk: number][] = [[1, 1], [17, 17], [129, 129], [17, 129], [129, 17], [1, 129]];
const DIMS: [d: number, dv: number][] = [[16, 16], [40, 40], [64, 64], [128, 128], [256, 256], [40, 24]];
const PIPELINES: Pipeline[] = ['lse', 'fwd', 'bwd'];

interface Case {
  variant: Variant;
  pipeline: Pipeline;
  problem: Problem;
  seed: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  let seed = 4000;
  for (const variant of backend.variants)
    for (const pipeline of PIPELINES)
      for (const causal of [false, true])
        for (const [nq, nk] of SHAPES)
          for (const [d, dv] of DIMS) {
            out.push({ variant, pipeline, problem: makeProblem({ bh: 3, nq, nk, d, dv, causal }), seed: seed++ });
          }
  return out;
}

const label = (c: Case) =>
  `${c.variant} ${c.pipeline} bh=${c.problem.bh} nq=${c.problem.nq} nk=${c.problem.nk} d=${c.problem.d} dv=${c.problem.dv}${c.problem.causal ? ' causal' : ''} seed=${c.seed}`;

describe.skipIf(GPU_MISSING !== null)(`cuda vs float64 reference${GPU_MISSING ? ` (skipped: ${GPU_MISSING})` : ''}`, () => {
  afterAll(() => backend.close());

  it.each(cases().map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const why = backend.check(c.problem, c.variant);
    if (why) throw new Error(`refused: ${why}`);
    const session = await backend.open(c.problem, c.variant);
    try {
      const result = await checkSession(session, { pipeline: c.pipeline, seed: c.seed });
      expect(result.failures, `seed ${c.seed}`).toEqual([]);
      expect(result.passed).toBe(true);
    } finally {
      await session.dispose();
    }
  });
});
