// Version 2–5 tile shapes (src/tiling2.ts) exist for every d in 1..256 on the CPU adapter's, the H100's and WebGPU's default limits, fit
// them, and satisfy what the shaders assume (vec4 register tiles, EC a multiple of 8, JC dividing BC).
import { describe, expect, it } from 'vitest';
import type { TiledKernel } from '../src/tiling.js';
import { TILED_MAX_D } from '../src/tiling.js';
import { pickTiles2, registerFloats2, tileConstants2, workgroupFloats2 } from '../src/tiling2.js';

const ADAPTERS = {
  lavapipe: { workgroupBytes: 32768, invocations: 1024, maxSide: 8 },
  h100: { workgroupBytes: 49152, invocations: 1024 },
  h100rows8: { workgroupBytes: 49152, invocations: 1024, rows: 8 },
  webgpuDefault: { workgroupBytes: 16384, invocations: 256 },
};
const KERNELS: TiledKernel[] = ['lse', 'forward', 'dq', 'dkdv'];

describe('pickTiles2', () => {
  for (const [name, limits] of Object.entries(ADAPTERS)) {
    it(`${name}: a fitting tile for every d ≤ ${TILED_MAX_D}, and for dv ≠ d`, () => {
      for (let d = 1; d <= TILED_MAX_D; d++) {
        for (const kernel of KERNELS) {
          for (const dv of [d, TILED_MAX_D + 1 - d]) {
            const c = pickTiles2(kernel, d, dv, limits);
            expect(c, `${kernel} d=${d} dv=${dv}`).not.toBeNull();
            expect(c!.bytes).toBe(4 * workgroupFloats2(kernel, c!));
            expect(c!.bytes).toBeLessThanOrEqual(limits.workgroupBytes);
            expect(c!.tx * c!.ty).toBeLessThanOrEqual(limits.invocations);
            expect(c!.br).toBe(c!.ty * c!.rm);
            expect(c!.bc).toBe(c!.tx * c!.rn);
            expect(c!.rm % 4).toBe(0);
            expect(c!.rn % 4).toBe(0);
            expect(c!.ec % 8).toBe(0);
            expect(c!.bc % c!.jc).toBe(0);
            expect(c!.rm === 4 || c!.rm === (limits as { rows?: number }).rows).toBe(true);
          }
        }
      }
    });
  }

  it('the H100 gets 64 × 64 tiles with 16 × 16 invocations for d = 64 and 128 (forward, dq, dkdv, lse)', () => {
    for (const d of [64, 128]) {
      for (const kernel of KERNELS) {
        const c = pickTiles2(kernel, d, d, ADAPTERS.h100)!;
        expect([c.br, c.bc, c.tx, c.ty], `${kernel} d=${d}`).toEqual([64, 64, 16, 16]);
      }
    }
  });

  it('8 rows per invocation falls back to 4 where the accumulators would pass the register budget', () => {
    const dkdv = pickTiles2('dkdv', 128, 128, ADAPTERS.h100rows8)!;
    expect([dkdv.rm, dkdv.br, dkdv.bc]).toEqual([4, 64, 64]);
    expect(registerFloats2('dkdv', dkdv)).toBeLessThanOrEqual(128);
    const forward = pickTiles2('forward', 128, 128, ADAPTERS.h100rows8)!;
    expect([forward.rm, forward.br, forward.bc]).toEqual([8, 128, 64]);
    // d = 256 meets no budget at all: the largest tile that fits workgroup memory is still picked
    expect(registerFloats2('dkdv', pickTiles2('dkdv', 256, 256, ADAPTERS.h100)!)).toBeGreaterThan(128);
  });

  it('emits the constants the shaders use', () => {
    const text = tileConstants2(pickTiles2('dkdv', 40, 24, ADAPTERS.lavapipe)!);
    for (const name of ['D', 'DV', 'BR', 'BC', 'TX', 'TY', 'RM', 'RN', 'RM4', 'RN4', 'EC', 'JC', 'BRP', 'BCP', 'DP', 'DVP', 'CD4', 'CV4', 'THREADS', 'SH4', 'BT4', 'OC4']) {
      expect(text).toMatch(new RegExp(`^const ${name}: u32 = \\d+u;$`, 'm'));
    }
    expect(text).toContain('const D: u32 = 40u;');
    expect(text).toContain('const DP: u32 = 64u;');
    expect(text).toContain('const DVP: u32 = 32u;');
  });
});

describe('per-version tile choices', () => {
  it('cols sets the keys per invocation; fastInterior goes into the constants', () => {
    expect(pickTiles2('lse', 64, 64, { ...ADAPTERS.h100, cols: 8 })!.rn).toBe(8);
    expect(pickTiles2('lse', 64, 64, ADAPTERS.h100)!.rn).toBe(4);
    const c = pickTiles2('forward', 64, 64, { ...ADAPTERS.h100, version: 5, fastInterior: true })!;
    expect(c.version).toBe(5);
    expect(tileConstants2(c)).toContain('const FAST_INTERIOR: bool = true;');
    expect(tileConstants2({ ...c, fastInterior: false })).toContain('const FAST_INTERIOR: bool = false;');
  });
});
