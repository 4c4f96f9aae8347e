/**
 * The blocked stages (several rows per pass over K and V, used by the pool) give bit-identical results to the
 * one-row functions (full.ts forwardFull / backwardFull), so how rows are blocked or split never changes a result.
 */
import { expect, it } from 'vitest';
import { backwardFull, describeProblem, forwardFull, freshSeed, makeProblem, randomInputs, referenceOutputs, rowInputs, toFloat64 } from '../src/index.js';

const sameBits = (a: Float64Array, b: Float64Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

for (const p of [
  makeProblem({ bh: 2, nq: 37, nk: 29, d: 13, causal: true }),
  makeProblem({ bh: 3, nq: 21, nk: 46, d: 6, dv: 9, causal: true }),
  makeProblem({ bh: 1, nq: 19, nk: 23, d: 5 }),
]) {
  it(describeProblem(p), async () => {
    const seed = freshSeed();
    const x = randomInputs(p, seed);
    const blocked = (await referenceOutputs(p, x, 'bwd', undefined, { threads: 1 })).tensors;
    const rows = rowInputs(x.q, x.k, x.v);
    const { lse, o } = forwardFull(p, rows);
    const { dq, dk, dv } = backwardFull(p, rows, lse, o, toFloat64(x.dO));
    const single = { lse, o, dq, dk, dv };
    for (const name of ['lse', 'o', 'dq', 'dk', 'dv'] as const) expect(sameBits(blocked[name]!, single[name]), `${name} (seed ${seed})`).toBe(true);
  });
}
