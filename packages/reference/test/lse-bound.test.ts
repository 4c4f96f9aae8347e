/**
 * lseCertainlyAbove names a row only when that row's lse is above the limit for certain: never for a limit at or
 * above the true largest lse (random shapes, causal or not, scores of magnitude 1 and 1e38), and it catches a
 * scale of 3e38 on N(0,1) inputs, whose lse is beyond float32's range.
 */
import { expect, it } from 'vitest';
import { Rng, forwardFull, freshSeed, lseCertainlyAbove, makeProblem, rowInputs } from '../src/index.js';
import type { Problem } from '../src/index.js';
import { float64Inputs } from './_helpers.js';

const F32_OVERFLOW = 2 ** 128;

function maxLse(p: Problem, q: Float64Array, k: Float64Array, v: Float64Array): number {
  return Math.max(...forwardFull(p, rowInputs(q, k, v)).lse);
}

it.each([1, 1e19])('never names a row for a limit at the true largest lse (inputs × %s)', (magnitude) => {
  const seed = freshSeed();
  const rng = new Rng(seed);
  let near = 0;
  for (let trial = 0; trial < 20; trial++) {
    const nq = 1 + Math.floor(rng.uniform() * 40);
    const nk = 1 + Math.floor(rng.uniform() * 40);
    const d = 1 + Math.floor(rng.uniform() * 16);
    const p = makeProblem({ bh: 2, nq, nk, d, causal: trial % 2 === 0, scale: (rng.uniform() - 0.3) * 2 });
    const x = float64Inputs(p, seed + trial);
    // a shared offset makes mean scores large, so the bound comes close to the lse
    const shift = (1 + Math.abs(rng.normal())) * (rng.uniform() < 0.5 ? -1 : 1);
    for (const t of [x.q, x.k]) for (let i = 0; i < t.length; i++) t[i] = (t[i]! * 0.1 + shift) * magnitude;
    const top = maxLse(p, x.q, x.k, x.v);
    if (!Number.isFinite(top)) continue;
    expect(lseCertainlyAbove(p, x.q, x.k, top), `trial ${trial}, seed ${seed}`).toBeNull();
    expect(lseCertainlyAbove(p, x.q, x.k, top + Math.abs(top) * 1e-6), `trial ${trial}, seed ${seed}`).toBeNull();
    if (lseCertainlyAbove(p, x.q, x.k, top - 0.1 * Math.abs(top) - 1) !== null) near++;
  }
  // the bound is not vacuous: most trials come within 10 % of the largest lse
  expect(near, `seed ${seed}`).toBeGreaterThan(10);
});

it('is tight when every key is the same: lse = q·k·scale + log n', () => {
  const p = makeProblem({ bh: 1, nq: 3, nk: 50, d: 4, scale: 0.5 });
  const q = new Float64Array([1, 2, 3, 4, 2, 2, 2, 2, -1, 0, 1, 0.5]);
  const k = new Float64Array(p.nk * p.d);
  for (let j = 0; j < p.nk; j++) k.set([1e37, 2e37, -1e37, 3e37], j * p.d);
  const exact = 0.5 * (1e37 + 4e37 - 3e37 + 12e37) + Math.log(50);
  expect(lseCertainlyAbove(p, q, k, exact * (1 - 1e-9))).toEqual({ row: 0, bound: expect.closeTo(exact, -28) as number });
  expect(lseCertainlyAbove(p, q, k, exact)).toBeNull();
});

it('catches --scale 3e38 on N(0,1) inputs: that row is beyond float32 in float64 too', () => {
  const p = makeProblem({ bh: 2, nq: 64, nk: 64, d: 32, causal: true, scale: 3e38 });
  const x = float64Inputs(p, 5);
  const found = lseCertainlyAbove(p, x.q, x.k, F32_OVERFLOW);
  expect(found).not.toBeNull();
  const lse = forwardFull(p, rowInputs(x.q, x.k, x.v)).lse;
  expect(lse[found!.row]).toBeGreaterThan(F32_OVERFLOW);
  expect(found!.bound).toBeLessThanOrEqual(lse[found!.row]!);
});
