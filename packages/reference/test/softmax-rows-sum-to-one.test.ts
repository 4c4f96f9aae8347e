/** Σ_j exp(S_ij − lse_i) = 1 for every row that sees a key: lse is the log of the softmax normaliser. */
import { expect, it } from 'vitest';
import { freshSeed, makeProblem, referenceOutputs, scoreRow } from '../src/index.js';
import { float64Inputs } from './_helpers.js';

for (const causal of [false, true]) {
  it(`rows of exp(S − lse) sum to 1 (bh=2 nq=33 nk=17 d=7${causal ? ' causal' : ''})`, async () => {
    const p = makeProblem({ bh: 2, nq: 33, nk: 17, d: 7, causal });
    const seed = freshSeed();
    const x = float64Inputs(p, seed);
    const { lse } = (await referenceOutputs(p, x, 'lse')).tensors;
    const s = new Float64Array(p.nk);
    let rowsSeen = 0;
    for (let r = 0; r < p.bh * p.nq; r++) {
      const count = scoreRow(p, x, r, s);
      if (count === 0) continue;
      let sum = 0;
      for (let j = 0; j < count; j++) sum += Math.exp(s[j]! - lse![r]!);
      expect(Math.abs(sum - 1), `row ${r} sums to ${sum} (seed ${seed})`).toBeLessThan(1e-14);
      rowsSeen++;
    }
    expect(rowsSeen).toBe(causal ? 2 * 17 : 2 * 33);
  });
}
