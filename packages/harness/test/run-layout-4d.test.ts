/**
 * 4-D [B,H,N,d] float64 inputs with a given --scale: outputs keep the [B,H,…] layout, and the values are those of
 * the independent float64 attention over BH = B·H heads.
 */
import { expect, it } from 'vitest';
import { Rng, freshSeed } from '@attn/reference';
import { attention, loadNpy, normalTensor, relL2, runCli, saveNpy, tempDir } from './_helpers.js';

it('keeps the 4-D layout and reads float64 inputs', () => {
  const seed = freshSeed();
  const rng = new Rng(seed);
  const [b, h, nq, nk, d, dv] = [2, 3, 17, 29, 9, 5];
  const scale = 0.3;
  const q = normalTensor(rng, [b, h, nq, d], 'float64');
  const k = normalTensor(rng, [b, h, nk, d], 'float64');
  const v = normalTensor(rng, [b, h, nk, dv], 'float64');
  const dO = normalTensor(rng, [b, h, nq, dv], 'float64');
  const dir = tempDir();
  const r = runCli([
    'run', '--backend', 'reference', '--stage', 'bwd', '--causal', '--scale', String(scale), '--out', `${dir}/out`,
    '--q', saveNpy(dir, 'q', q, [b, h, nq, d]), '--k', saveNpy(dir, 'k', k, [b, h, nk, d]),
    '--v', saveNpy(dir, 'v', v, [b, h, nk, dv]), '--do', saveNpy(dir, 'dO', dO, [b, h, nq, dv]),
  ]);
  expect(r.stderr, `seed ${seed}`).toBe('');
  expect(r.code).toBe(0);

  const want = attention({ bh: b * h, nq, nk, d, dv, causal: true, scale }, q, k, v, dO);
  const shapes = { lse: [b, h, nq], o: [b, h, nq, dv], dq: [b, h, nq, d], dk: [b, h, nk, d], dv: [b, h, nk, dv] };
  for (const name of ['lse', 'o', 'dq', 'dk', 'dv'] as const) {
    const got = loadNpy(`${dir}/out/${name}.npy`);
    expect(got.shape, name).toEqual(shapes[name]);
    expect(relL2(got.data, want[name]), `${name} rel L2, seed ${seed}`).toBeLessThanOrEqual(1e-12);
  }
});
