/**
 * A float32 GPU backend given float64 files gets them converted: the outputs are float32 and agree with the
 * independent float64 attention to the float32 tolerances; a float64 value beyond float32's range is refused.
 * Uses the WGSL backend (a CPU adapter is enough); skipped, with the reason, where it is not available.
 */
import { expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { Rng, freshSeed } from '@attn/reference';
import { attention, loadNpy, normalTensor, relL2, runCli, saveNpy, tempDir } from './_helpers.js';

const [bh, nq, nk, d] = [2, 17, 29, 12];

function run(ctx: TestContext, q: Float64Array, k: Float64Array, v: Float64Array, dO: Float64Array, dir: string) {
  const r = runCli([
    'run', '--backend', 'wgsl', '--stage', 'bwd', '--causal', '--out', `${dir}/out`,
    '--q', saveNpy(dir, 'q', q, [bh, nq, d]), '--k', saveNpy(dir, 'k', k, [bh, nk, d]),
    '--v', saveNpy(dir, 'v', v, [bh, nk, d]), '--do', saveNpy(dir, 'dO', dO, [bh, nq, d]),
  ]);
  const unavailable = /^attn: backend 'wgsl' (is not available|could not be loaded): (.*)$/m.exec(r.stderr);
  if (unavailable) ctx.skip(unavailable[2]);
  return r;
}

function inputs(seed: number) {
  const rng = new Rng(seed);
  return {
    q: normalTensor(rng, [bh, nq, d], 'float64') as Float64Array,
    k: normalTensor(rng, [bh, nk, d], 'float64') as Float64Array,
    v: normalTensor(rng, [bh, nk, d], 'float64') as Float64Array,
    dO: normalTensor(rng, [bh, nq, d], 'float64') as Float64Array,
  };
}

it('converts float64 inputs to float32 for a GPU backend', (ctx) => {
  const seed = freshSeed();
  const { q, k, v, dO } = inputs(seed);
  const dir = tempDir();
  const r = run(ctx, q, k, v, dO, dir);
  expect(r.code, `${r.stderr} seed ${seed}`).toBe(0);
  const want = attention({ bh, nq, nk, d, dv: d, causal: true, scale: 1 / Math.sqrt(d) }, q, k, v, dO);
  const tolerance = { lse: 1e-5, o: 1e-5, dq: 1e-4, dk: 1e-4, dv: 1e-4 };
  for (const name of ['lse', 'o', 'dq', 'dk', 'dv'] as const) {
    const got = loadNpy(`${dir}/out/${name}.npy`);
    expect(got.data, name).toBeInstanceOf(Float32Array);
    expect(relL2(got.data, want[name]), `${name} rel L2, seed ${seed}`).toBeLessThanOrEqual(tolerance[name]);
  }
});

it('refuses a float64 value that overflows float32', (ctx) => {
  const { q, k, v, dO } = inputs(3);
  q[1 * nq * d + 4 * d + 7] = 1e39;
  const r = run(ctx, q, k, v, dO, tempDir());
  expect(r.code).toBe(2);
  // Dawn may print its own warnings on stderr; ours is the one 'attn:' line
  expect(r.stderr.split('\n').filter((line) => line.startsWith('attn:'))).toEqual([
    'attn: Q has 1 non-finite value after rounding to float32 (first at [1,4,7]: Infinity); pass --allow-nonfinite to run anyway',
  ]);
});
