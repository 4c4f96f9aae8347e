/** Row-sampled mode gives, on the sampled rows, exactly what full mode gives (given the full lse and O for dK, dV). */
import { expect, it } from 'vitest';
import { compareOutputs, describeProblem, freshSeed, makeProblem, randomInputs, referenceOutputs, sampleRows } from '../src/index.js';

const problems = [
  makeProblem({ bh: 2, nq: 129, nk: 17, d: 6, causal: true }),
  makeProblem({ bh: 3, nq: 40, nk: 97, d: 11, dv: 5 }),
];

for (const p of problems) {
  it(describeProblem(p), async () => {
    const seed = freshSeed();
    const x = randomInputs(p, seed);
    const full = await referenceOutputs(p, x, 'bwd');
    const rows = sampleRows(p, 12, seed);
    const sampled = await referenceOutputs(p, x, 'bwd', rows, { given: { lse: full.tensors.lse!, o: full.tensors.o! } });
    expect(sampled.tensors.lse).toHaveLength(rows.queryRows.length);
    expect(sampled.tensors.dk).toHaveLength(rows.keyRows.length * p.d);
    const errors = compareOutputs(full.tensors, sampled);
    for (const [name, e] of Object.entries(errors)) {
      expect(e, `${name} (seed ${seed})`).toEqual({ count: e.count, maxAbs: 0, maxRel: 0, relL2: 0, l2: 0, finite: e.finite, nonFinite: 0, unwritten: 0 });
    }
    expect(Object.keys(errors).sort()).toEqual(['dk', 'dq', 'dv', 'lse', 'o']);
  });
}

it('sampled backward without the kernel’s lse and O is refused', async () => {
  const p = makeProblem({ bh: 1, nq: 4, d: 2 });
  const x = randomInputs(p, 1);
  await expect(referenceOutputs(p, x, 'bwd', sampleRows(p, 2, 1))).rejects.toThrow(/needs the kernel's own lse and O/);
});
