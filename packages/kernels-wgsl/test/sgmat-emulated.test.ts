// Tiled version 6 (subgroup matrices, float16) where the adapter has no subgroup matrices (lavapipe): its kernels run
// with the five builtins emulated in plain WGSL (createWgslBackend({ emulateSubgroupMatrix: true })), lse → forward →
// backward judged by the accuracy rule in float16 on odd shapes (one vec4 head dim, one scalar with dv ≠ d, the 128
// bucket with one key), causal and not; the emulation turns out-of-bounds or misaligned matrix accesses into NaN.
// Without emulation, tiled@v6 is refused in one line naming the feature (check() after availability(), and open()).
import { BackendError, makeProblem, SMALL_ODD_SHAPES } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { backend, checkShapes, skipGpu } from './_helpers.js';

const emulated = createWgslBackend({ emulateSubgroupMatrix: true });
afterAll(async () => {
  await emulated.close();
  await backend.close();
});

const SHAPES = SMALL_ODD_SHAPES.filter((s) => [64, 3, 128].includes(s.d)).map(({ bh, nq, nk, d, dv, why }) => ({ bh, nq, nk, d, dv: dv ?? d, why }));
// lavapipe has no subgroup matrices (nor under the toggles); elsewhere the refusal tests do not apply
const onLavapipe = !skipGpu && (await backend.info()).driver?.startsWith('lavapipe') === true;

describe.skipIf(skipGpu)('tiled@v6 with emulated subgroup matrices', () => {
  it.each(SHAPES)('bh=$bh nq=$nq nk=$nk d=$d dv=$dv ($why)', async ({ why: _, ...shape }) => {
    await emulated.availability();
    expect(await checkShapes(emulated, 'tiled@v6', [shape], 'bwd', 'float16')).toEqual([]);
  });

  it('Session.kernels: versions 6, the tile, subgroups, configuration and emulation; d > 128 runs version 5', async () => {
    const s = await emulated.open(makeProblem({ bh: 1, nq: 5, nk: 5, d: 64, dtype: 'float16' }), 'tiled@v6');
    const wide = await emulated.open(makeProblem({ bh: 1, nq: 5, nk: 5, d: 160, dtype: 'float16' }), 'tiled@v6');
    try {
      for (const [stage, token] of [['lse', 'lse6'], ['forward', 'fwd6'], ['backward', 'bwd6']] as const) {
        expect(s.kernels![stage]).toMatch(new RegExp(`^${token}: .*\\d+x\\d+ tile, [24] subgroups of 32, f16 16x16x16 -> f32, emulated.*; float16 \\(shader-f16`));
      }
      expect(wide.kernels!.forward).toMatch(/^fwd5 \(fwd6 needs d, dv ≤ 128\): /);
    } finally {
      await s.dispose();
      await wide.dispose();
    }
  });
});

describe.skipIf(!onLavapipe)('tiled@v6 on an adapter without subgroup matrices', () => {
  const p = makeProblem({ bh: 1, nq: 8, nk: 8, d: 64, dtype: 'float16' });
  const line = /^wgsl tiled version 6 \(subgroup matrices\) needs the adapter feature chromium-experimental-subgroup-matrix, which .* does not offer \(nor with the Dawn toggles allow_unsafe_apis, vulkan_enable_f16_on_nvidia\) \(asked: tiled@v6\)$/;

  it('check() refuses it in one line naming the feature; open() throws the same line', async () => {
    expect(await backend.availability()).toBeNull();
    const refusal = backend.check(p, 'tiled@v6');
    expect(refusal).toMatch(line);
    await expect(backend.open(p, 'tiled@v6')).rejects.toThrow(BackendError);
    await expect(backend.open(p, 'tiled@v6')).rejects.toThrow(refusal!.replace(' (asked: tiled@v6)', ''));
  });

  it('float32 asked of it: the dtype refusal; d > 128 (version 5) and the other versions still run', () => {
    expect(backend.check(makeProblem({ bh: 1, nq: 8, nk: 8, d: 64 }), 'tiled@v6')).toBe('wgsl tiled@lse6 takes float16, not float32 (asked: tiled@v6)');
    expect(backend.check(makeProblem({ bh: 1, nq: 8, nk: 8, d: 160, dtype: 'float16' }), 'tiled@v6')).toBeNull();
    expect(backend.check(p, 'tiled@v5')).toBeNull();
  });
});
