// How the float16 device gets shader-f16 (src/dawn.ts halfDevicePlan), on adapter descriptions given here: as the
// adapter is where it offers the feature (lavapipe, most GPUs); with Dawn's toggles allow_unsafe_apis and
// vulkan_enable_f16_on_nvidia where it offers it only under them (NVIDIA's Vulkan driver: asked only then); else one
// line naming the adapter. The subgroup matrices (and subgroups) only for tiled version 6's device, and its refusal
// names the missing feature. No adapter needed.
import { describe, expect, it } from 'vitest';
import type { AdapterOffer } from '../src/dawn.js';
import { HALF_TOGGLES, halfDevicePlan, optionsWith, SUBGROUP_MATRIX } from '../src/dawn.js';

const offer = (name: string, ...features: string[]): AdapterOffer => ({ name, features: new Set(features) });
const LAVAPIPE = offer('llvmpipe (LLVM 15.0.6, 256 bits)', 'shader-f16', 'subgroups', 'timestamp-query');
const H200_PLAIN = offer('NVIDIA H200', 'subgroups', 'timestamp-query');
const H200_TOGGLED = offer('NVIDIA H200', 'shader-f16', SUBGROUP_MATRIX, 'subgroups', 'timestamp-query');

describe('halfDevicePlan', () => {
  it('an adapter that offers shader-f16: no toggles, and the toggled adapter is never asked for', async () => {
    let asked = 0;
    const plan = await halfDevicePlan(LAVAPIPE, async () => (asked++, H200_TOGGLED));
    expect(plan).toEqual({ toggles: [], features: ['shader-f16'] });
    expect(asked).toBe(0);
  });

  it('an adapter that offers it only under the toggles: the toggles and shader-f16 (no subgroup matrices unless asked)', async () => {
    const plan = await halfDevicePlan(H200_PLAIN, async () => H200_TOGGLED);
    expect(plan).toEqual({ toggles: ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'], features: ['shader-f16'] });
  });

  it("version 6's device: shader-f16, subgroups and the subgroup matrices, under the toggles where needed", async () => {
    const plan = await halfDevicePlan(H200_PLAIN, async () => H200_TOGGLED, true);
    expect(plan).toEqual({ toggles: ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'], features: ['shader-f16', 'subgroups', SUBGROUP_MATRIX] });
  });

  it('an adapter with shader-f16 but no subgroup matrices refuses version 6 in one line naming the feature', async () => {
    expect(await halfDevicePlan(LAVAPIPE, async () => LAVAPIPE, true)).toBe(
      `wgsl tiled version 6 (subgroup matrices) needs the adapter feature ${SUBGROUP_MATRIX}, which llvmpipe (LLVM 15.0.6, 256 bits) does not offer (nor with the Dawn toggles allow_unsafe_apis, vulkan_enable_f16_on_nvidia)`,
    );
  });

  it('an adapter without it, toggles or not (or no adapter under them): one line naming the adapter and the feature', async () => {
    const line = 'wgsl float16 needs the adapter feature shader-f16, which NVIDIA H200 does not offer (nor with the Dawn toggles allow_unsafe_apis, vulkan_enable_f16_on_nvidia)';
    expect(await halfDevicePlan(H200_PLAIN, async () => H200_PLAIN)).toBe(line);
    expect(await halfDevicePlan(H200_PLAIN, async () => null)).toBe(line);
  });

  it('the toggles go into one enable-dawn-features entry (a second entry would replace the first)', () => {
    expect(optionsWith(['allow_unsafe_apis', 'disable_robustness', ...HALF_TOGGLES])).toEqual([
      'disable-dawn-features=timestamp_quantization',
      'enable-dawn-features=allow_unsafe_apis,disable_robustness,vulkan_enable_f16_on_nvidia',
    ]);
    expect(optionsWith([])).toEqual(['disable-dawn-features=timestamp_quantization']);
  });
});
