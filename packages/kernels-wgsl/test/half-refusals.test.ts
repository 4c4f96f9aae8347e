// What wgsl refuses in half precision, each in one line and never a crash: bfloat16 (WGSL has no bf16 type), a tiled
// version without float16 kernels (tiled@fwd2; a plain 'tiled' picks the newest version that has them), and float16
// on an adapter without shader-f16 (here: lavapipe with the feature hidden, toggles or not).
import { BackendError, makeProblem } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { defaultVersion, WGSL_VERSIONS } from '../src/versions.js';
import { backend, skipGpu } from './_helpers.js';

const noHalf = createWgslBackend({ adapterFeatures: (offered) => new Set([...offered].filter((f) => f !== 'shader-f16')) });
afterAll(async () => {
  await noHalf.close();
  await backend.close();
});

const half = makeProblem({ bh: 1, nq: 9, nk: 7, d: 8, dtype: 'float16' });

describe('refused without a device', () => {
  it('bfloat16, in every variant', () => {
    const bf16 = makeProblem({ bh: 1, nq: 9, nk: 7, d: 8, dtype: 'bfloat16' });
    for (const variant of ['naive', 'tiled', 'tiled@v1']) {
      expect(backend.check(bf16, variant)).toBe('wgsl has no bfloat16: WGSL has no bf16 type (wgsl runs float32 and float16)');
    }
  });

  it('dtypes(variant) names what each variant takes, as check() decides it', () => {
    expect(backend.dtypes!('naive')).toEqual(['float32', 'float16']);
    expect(backend.dtypes!('tiled')).toEqual(['float32', 'float16']);
    expect(backend.dtypes!('tiled@fwd2')).toEqual(['float32']);
    expect(backend.dtypes!('tiled@v4')).toEqual(['float32']);
    expect(backend.dtypes!('tiled@v5')).toEqual(['float32', 'float16']);
  });

  it('a version without float16 kernels, named or through v<N>; float32 takes it', () => {
    expect(backend.check(half, 'tiled@fwd2')).toBe('wgsl tiled@fwd2 takes float32, not float16');
    expect(backend.check(half, 'tiled@bwd4+rows=4')).toBe('wgsl tiled@bwd4 takes float32, not float16 (asked: tiled@bwd4+rows=4)');
    expect(backend.check(half, 'tiled@v4')).toBe('wgsl tiled@lse4 takes float32, not float16 (asked: tiled@v4)');
    expect(backend.check({ ...half, dtype: 'float32' }, 'tiled@fwd2')).toBeNull();
    for (const variant of ['naive', 'tiled', 'tiled@v1', 'tiled@v3', 'tiled@fwd1+bwd3']) expect(backend.check(half, variant), variant).toBeNull();
  });

  it("'tiled' runs the default version where it takes the dtype, else the newest that does", () => {
    for (const stage of ['lse', 'forward', 'backward'] as const) {
      expect(defaultVersion(stage, 'float16')).toBe(5);
      expect(defaultVersion(stage, 'bfloat16')).toBeNull();
      const withoutFive = WGSL_VERSIONS.map((v) => (v.version === 5 ? { ...v, dtypes: ['float32' as const] } : v));
      // the newest that takes float16 is version 6 (subgroup matrices)
      expect(defaultVersion(stage, 'float16', withoutFive)).toBe(6);
      expect(defaultVersion(stage, 'float32', withoutFive)).toBe(5);
    }
  });
});

describe.skipIf(skipGpu)('an adapter without shader-f16', () => {
  it('open() refuses float16 in one line naming the adapter, check() says so from then on, float32 runs', async () => {
    const device = (await noHalf.info()).device;
    const line = `wgsl float16 needs the adapter feature shader-f16, which ${device} does not offer (nor with the Dawn toggles allow_unsafe_apis, vulkan_enable_f16_on_nvidia)`;
    await expect(noHalf.open(half, 'tiled')).rejects.toThrow(new BackendError(line));
    expect(noHalf.check(half, 'naive')).toBe(line);
    await expect(noHalf.open(half, 'naive')).rejects.toBeInstanceOf(BackendError);
    const devices = (await noHalf.info()).details?.devices as Record<string, { open: boolean; refused?: string }>;
    expect(devices['float16 robust=on']).toEqual({ open: false, refused: line });
    const s = await noHalf.open({ ...half, dtype: 'float32' }, 'naive');
    await s.dispose();
  });
});
