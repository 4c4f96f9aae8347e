/**
 * All five outputs agree with an independent float64 implementation (whole score matrix, directly normalised softmax,
 * matrix-form backward; test/_helpers.ts) to relative L2 ≤ 1e-12, on odd shapes, causal and not. This also covers
 * "O via lse equals O via a directly normalised softmax".
 */
import { expect, it } from 'vitest';
import type { Problem } from '../src/index.js';
import { describeProblem, freshSeed, makeProblem, referenceOutputs } from '../src/index.js';
import { float64Inputs, matrixAttention, relL2 } from './_helpers.js';

const SHAPES = [
  { bh: 3, nq: 77, nk: 131, d: 40 },
  { bh: 1, nq: 1, nk: 1, d: 1 },
  { bh: 2, nq: 17, nk: 17, d: 5 },
  { bh: 1, nq: 129, nk: 17, d: 24, dv: 7 },
  { bh: 1, nq: 1, nk: 129, d: 3 },
];

const problems: Problem[] = SHAPES.flatMap((s) => [makeProblem({ ...s, causal: false }), makeProblem({ ...s, causal: true })]);

for (const p of problems) {
  it(describeProblem(p), async () => {
    const seed = freshSeed();
    const x = float64Inputs(p, seed);
    const ours = (await referenceOutputs(p, x, 'bwd')).tensors;
    const theirs = matrixAttention(p, x);
    for (const name of ['lse', 'o', 'dq', 'dk', 'dv'] as const) {
      const a = ours[name]!;
      const b = theirs[name];
      // −inf lse of fully masked rows must match exactly and stay out of the L2 sum
      const finite = (arr: Float64Array): number[] => Array.from(arr).filter((_, i) => Number.isFinite(b[i]!));
      for (let i = 0; i < b.length; i++) if (!Number.isFinite(b[i]!)) expect(a[i], `${name}[${i}] (seed ${seed})`).toBe(b[i]);
      expect(relL2(finite(a), finite(b)), `${name} (seed ${seed})`).toBeLessThanOrEqual(1e-12);
    }
  });
}
