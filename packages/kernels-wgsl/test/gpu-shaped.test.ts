// Version 2 in the shape the H100 ran it — 16 × 16 invocations, 64- and 128-row tiles, constant (unrolled) loop
// bounds — checked on lavapipe across several tiles with ragged edges (its 32 KiB picks tiles close to the H100's).
import { afterAll, describe, expect, it } from 'vitest';
import { backend, checkShapes, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

const configs = [
  { rows: 4, init: { bh: 2, nq: 150, nk: 131, d: 64 } },
  { rows: 8, init: { bh: 1, nq: 70, nk: 200, d: 128 } },
] as const;

describe.skipIf(skipGpu)('version 2, GPU-shaped tiles', () => {
  it.each(configs)('rows $rows: bwd, causal and not', async ({ rows, init }) => {
    const variant = `tiled@v2+side=16+unroll=1+rows=${rows}`;
    const s = await backend.open({ ...init, dv: init.d, scale: 1, causal: false, dtype: 'float32' }, variant);
    try {
      // 8 rows where lavapipe's 32 KiB fit them (lse), 4 where not (the register budget or memory falls back)
      expect(s.kernels?.lse).toBe(`lse2: ${16 * rows}x64 tile, 16x16 invocations of ${rows}x4; unrolled`);
      expect(s.kernels?.forward).toMatch(/^fwd2: \d+x64 tile, 16x16 invocations of [48]x4; unrolled$/);
    } finally {
      await s.dispose();
    }
    expect(await checkShapes(backend, variant, [init], 'bwd')).toEqual([]);
  });
});
