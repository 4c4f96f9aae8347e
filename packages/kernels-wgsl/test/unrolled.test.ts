// The unrolled form of the tiled shaders (unroll=1: constant loop bounds, the GPU default; version 5 also expands its
// @unroll-gpu chunk loops in the source) is correct too, for versions 1, 2 and 5; the CPU adapter defaults to runtime
// bounds. Small tiles (wgmem=6144) keep lavapipe's compile of the unrolled chunk loops short; version 5 skips d = 5
// (it runs version 3 there: vec4 chunks need d ≡ 0 mod 4).
import { afterAll, describe, expect, it } from 'vitest';
import { backend, checkShapes, skipGpu, unrolled } from './_helpers.js';

afterAll(() => backend.close());

const SHAPES = [{ bh: 2, nq: 19, nk: 7, d: 5, dv: 7 }, { bh: 1, nq: 9, nk: 30, d: 8 }, { bh: 1, nq: 32, nk: 16, d: 8, dv: 12 }];
// version 5: one head dim, so its unrolled shaders compile once (68 s on an idle 2-core machine with a cold Mesa cache
// for two head-dim pairs, over half the test timeout); nq = 32, nk = 16 has mask-free tiles
const SHAPES_V5 = [{ bh: 1, nq: 9, nk: 30, d: 8 }, { bh: 1, nq: 32, nk: 16, d: 8 }];

describe.skipIf(skipGpu)('tiled, unrolled', () => {
  it.each([1, 2, 5])('tiled@v%i+unroll=1: forward and backward on odd shapes, causal and not', async (v) => {
    expect(await checkShapes(backend, unrolled(v), v === 5 ? SHAPES_V5 : SHAPES, 'bwd')).toEqual([]);
  });

  it('Session.kernels says so', async () => {
    const s = await backend.open({ bh: 1, nq: 9, nk: 30, d: 8, dv: 8, scale: 1, causal: false, dtype: 'float32' }, unrolled(5));
    try {
      expect(Object.values(s.kernels!).every((k) => k.endsWith('; unrolled'))).toBe(true);
    } finally {
      await s.dispose();
    }
  });
});
