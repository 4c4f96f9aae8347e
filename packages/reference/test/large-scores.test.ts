/** Scores of magnitude ~1e3 (exp would overflow without the max shift) still give finite lse, O and gradients. */
import { expect, it } from 'vitest';
import { freshSeed, makeProblem, referenceOutputs } from '../src/index.js';
import { float64Inputs, hasNaN } from './_helpers.js';

it('|S| ~ 1e3 gives finite lse ≥ max score and finite outputs', async () => {
  const p = makeProblem({ bh: 1, nq: 9, nk: 13, d: 4, scale: 1, causal: true });
  const seed = freshSeed();
  const x = float64Inputs(p, seed);
  for (let i = 0; i < x.q.length; i++) x.q[i]! *= 30;
  for (let i = 0; i < x.k.length; i++) x.k[i]! *= 30;
  const { lse, o, dq, dk, dv } = (await referenceOutputs(p, x, 'bwd')).tensors;
  let maxAbsScore = 0;
  for (let i = 0; i < p.nq; i++) {
    let m = -Infinity;
    for (let j = 0; j <= i + p.nk - p.nq; j++) {
      let s = 0;
      for (let c = 0; c < p.d; c++) s += x.q[i * p.d + c]! * x.k[j * p.d + c]!;
      m = Math.max(m, s);
      maxAbsScore = Math.max(maxAbsScore, Math.abs(s));
    }
    expect(Number.isFinite(lse![i]), `lse[${i}] = ${lse![i]} (seed ${seed})`).toBe(true);
    // the test sums its dot products in another order: allow rounding at the scale of the scores
    expect(lse![i]! - m, `lse[${i}] − max score (seed ${seed})`).toBeGreaterThanOrEqual(-1e-12 * Math.abs(m));
    expect(lse![i]! - m).toBeLessThanOrEqual(Math.log(p.nk));
  }
  expect(maxAbsScore, `scores reach ~1e3 (seed ${seed})`).toBeGreaterThan(500);
  for (const [name, t] of Object.entries({ o, dq, dk, dv })) {
    expect(t!.every(Number.isFinite), `${name} finite (seed ${seed})`).toBe(true);
    expect(hasNaN(t!)).toBe(false);
  }
});
