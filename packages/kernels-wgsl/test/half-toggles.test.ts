// float16 runs on a device of its own with shader-f16, opened on the first float16 problem; the float32 device is
// left as it was. Where the adapter offers shader-f16 as it is (lavapipe) the device has no toggles; where it offers
// it only under Dawn's toggles (NVIDIA's Vulkan driver, played here by hiding the feature from lavapipe's adapter
// unless vulkan_enable_f16_on_nvidia is on) the float16 device alone is created with allow_unsafe_apis and
// vulkan_enable_f16_on_nvidia. info() and Session.kernels record the toggles and features each device has.
import { makeProblem } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { HALF_TOGGLES } from '../src/dawn.js';
import { createWgslBackend } from '../src/index.js';
import { backend, checkShapes, skipGpu } from './_helpers.js';

const nvidiaLike = createWgslBackend({
  adapterFeatures: (offered, toggles) => (toggles.includes('vulkan_enable_f16_on_nvidia') ? offered : new Set([...offered].filter((f) => f !== 'shader-f16'))),
});
afterAll(async () => {
  await nvidiaLike.close();
  await backend.close();
});

interface DeviceRecord {
  open: boolean;
  dawnOptions: string[];
  toggles: string[];
  features: string[];
}
const devicesOf = async (b: typeof backend): Promise<Record<string, DeviceRecord>> => (await b.info()).details?.devices as Record<string, DeviceRecord>;
const half = makeProblem({ bh: 2, nq: 17, nk: 9, d: 8, dtype: 'float16' });
const HALF_SUFFIX = '; float16 (shader-f16, Dawn toggles allow_unsafe_apis, vulkan_enable_f16_on_nvidia)';

describe.skipIf(skipGpu)('the float16 device', () => {
  it('an adapter that offers shader-f16: a second device with the feature, no toggles; float32 untouched', async () => {
    expect((await devicesOf(backend))['float16 robust=on']!.open).toBe(false);
    const s = await backend.open(half, 'naive');
    try {
      expect(s.kernels).toEqual({ lse: 'naive; float16 (shader-f16)', forward: 'naive; float16 (shader-f16)', backward: 'naive; float16 (shader-f16)' });
    } finally {
      await s.dispose();
    }
    const devices = await devicesOf(backend);
    expect(devices['float16 robust=on']).toMatchObject({ open: true, toggles: [], dawnOptions: devices['robust=on']!.dawnOptions });
    expect(devices['float16 robust=on']!.features).toContain('shader-f16');
    expect(devices['robust=on']!.features).not.toContain('shader-f16');
    expect(devices['robust=on']!.toggles).toEqual([]);
  });

  it('an adapter that offers it only under the toggles: they are enabled for the float16 device only, and it computes', async () => {
    expect(await checkShapes(nvidiaLike, 'naive', [half], 'bwd', 'float16')).toEqual([]);
    const s = await nvidiaLike.open(half, 'tiled@v1');
    try {
      expect(s.kernels!.forward).toMatch(/^fwd1: .*; float16 \(shader-f16, Dawn toggles allow_unsafe_apis, vulkan_enable_f16_on_nvidia\)$/);
    } finally {
      await s.dispose();
    }
    const devices = await devicesOf(nvidiaLike);
    expect(devices['float16 robust=on']).toMatchObject({ open: true, toggles: HALF_TOGGLES });
    expect(devices['float16 robust=on']!.dawnOptions).toContain('enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia');
    expect(devices['float16 robust=on']!.features).toContain('shader-f16');
    expect(devices['robust=on']!.dawnOptions.join(' ')).not.toContain('enable-dawn-features');
  });

  it('robust=off in float16: the unsafe and the float16 toggles in one entry, both recorded', async () => {
    expect(await checkShapes(nvidiaLike, 'tiled@v1+robust=off', [half], 'bwd', 'float16')).toEqual([]);
    const s = await nvidiaLike.open(half, 'tiled@v1+robust=off');
    try {
      expect(s.kernels!.lse).toMatch(new RegExp(`; clamps off${HALF_SUFFIX.replace(/[()]/g, '\\$&')}$`));
    } finally {
      await s.dispose();
    }
    const off = (await devicesOf(nvidiaLike))['float16 robust=off']!;
    expect(off.dawnOptions).toContain('enable-dawn-features=allow_unsafe_apis,disable_robustness,vulkan_enable_f16_on_nvidia');
    expect(off.toggles).toEqual(['allow_unsafe_apis', 'disable_robustness', 'vulkan_enable_f16_on_nvidia']);
  });
});
