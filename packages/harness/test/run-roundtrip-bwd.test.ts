/**
 * attn run --backend reference --stage bwd on random odd-shaped .npy inputs agrees with the independent float64
 * attention of _helpers.ts (full score matrix, softmax Jacobian backward) to rel L2 ≤ 1e-12 on every output.
 */
import { describe, expect, it } from 'vitest';
import { Rng, freshSeed } from '@attn/reference';
import { attention, loadNpy, normalTensor, relL2, runCli, saveNpy, tempDir } from './_helpers.js';

const cases = [
  { bh: 3, nq: 77, nk: 131, d: 40, causal: false },
  { bh: 3, nq: 77, nk: 131, d: 40, causal: true },
  // Nq > Nk, causal: the first Nq − Nk query rows see no key (lse −inf, O = 0, dQ = 0)
  { bh: 2, nq: 129, nk: 17, d: 7, causal: true },
  { bh: 1, nq: 1, nk: 1, d: 3, causal: false },
];

describe('attn run --stage bwd, reference vs an independent float64 attention', () => {
  it.each(cases)('BH=$bh Nq=$nq Nk=$nk d=$d causal=$causal', (c) => {
    const seed = freshSeed();
    const rng = new Rng(seed);
    const q = normalTensor(rng, [c.bh, c.nq, c.d]);
    const k = normalTensor(rng, [c.bh, c.nk, c.d]);
    const v = normalTensor(rng, [c.bh, c.nk, c.d]);
    const dO = normalTensor(rng, [c.bh, c.nq, c.d]);
    const dir = tempDir();
    const args = ['run', '--backend', 'reference', '--stage', 'bwd', '--out', `${dir}/out`];
    args.push('--q', saveNpy(dir, 'q', q, [c.bh, c.nq, c.d]), '--k', saveNpy(dir, 'k', k, [c.bh, c.nk, c.d]));
    args.push('--v', saveNpy(dir, 'v', v, [c.bh, c.nk, c.d]), '--do', saveNpy(dir, 'dO', dO, [c.bh, c.nq, c.d]));
    if (c.causal) args.push('--causal');

    const r = runCli(args);
    expect(r.stderr, `seed ${seed}`).toBe('');
    expect(r.code, `seed ${seed}`).toBe(0);

    const want = attention({ ...c, dv: c.d, scale: 1 / Math.sqrt(c.d) }, q, k, v, dO);
    const shapes = { lse: [c.bh, c.nq], o: [c.bh, c.nq, c.d], dq: [c.bh, c.nq, c.d], dk: [c.bh, c.nk, c.d], dv: [c.bh, c.nk, c.d] };
    for (const name of ['lse', 'o', 'dq', 'dk', 'dv'] as const) {
      const got = loadNpy(`${dir}/out/${name}.npy`);
      expect(got.shape, `${name}, seed ${seed}`).toEqual(shapes[name]);
      expect(got.data, `${name}, seed ${seed}`).toBeInstanceOf(Float64Array);
      expect(relL2(got.data, want[name]), `${name} rel L2, seed ${seed}`).toBeLessThanOrEqual(1e-12);
    }
    if (c.causal && c.nq > c.nk) {
      const lse = loadNpy(`${dir}/out/lse.npy`).data;
      expect(lse[0], `fully masked row, seed ${seed}`).toBe(-Infinity);
    }
  });
});
