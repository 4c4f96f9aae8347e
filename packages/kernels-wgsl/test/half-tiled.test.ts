// tiled in float16: the default ('tiled': version 5, version 3 where d or dv is not a multiple of 4) and version 1 (the
// fallback for every head dim), lse → forward → backward on every odd shape of @attn/reference, causal and not, judged
// by the accuracy rule against the textbook in float16 (checkSession). Session.kernels names the versions and the
// float16 device.
import { SMALL_ODD_SHAPES } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, checkShapes, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

const SHAPES = SMALL_ODD_SHAPES.map(({ bh, nq, nk, d, dv, why }) => ({ bh, nq, nk, d, dv: dv ?? d, why }));

describe.skipIf(skipGpu)('tiled float16', () => {
  it.each(['tiled', 'tiled@v1'].flatMap((variant) => SHAPES.map((s) => ({ variant, ...s }))))(
    '$variant: bh=$bh nq=$nq nk=$nk d=$d dv=$dv ($why)',
    async ({ variant, why: _, ...shape }) => {
      expect(await checkShapes(backend, variant, [shape], 'bwd', 'float16')).toEqual([]);
    },
  );

  it('Session.kernels: version 5, its version-3 fallback, float16 on shader-f16', async () => {
    const fits = await backend.open(problem({ bh: 1, nq: 5, nk: 5, d: 40, dtype: 'float16' }), 'tiled');
    const odd = await backend.open(problem({ bh: 1, nq: 5, nk: 5, d: 3, dtype: 'float16' }), 'tiled');
    try {
      for (const k of Object.values(fits.kernels!)) expect(k).toMatch(/^(lse|fwd|bwd)5: .*; float16 \(shader-f16(, Dawn toggles [^)]*)?\)$/);
      expect(odd.kernels!.forward).toMatch(/^fwd3 \(fwd5 needs d, dv ≡ 0 mod 4\): .*; float16 \(shader-f16(, Dawn toggles [^)]*)?\)$/);
    } finally {
      await fits.dispose();
      await odd.dispose();
    }
  });
});
