// Tile shapes exist for every d in 1..256 on the CPU adapter's and the H100's limits and respect them.
import { describe, expect, it } from 'vitest';
import type { TiledKernel } from '../src/tiling.js';
import { TILED_MAX_D, pickTiles, tileConstants, workgroupFloats } from '../src/tiling.js';

const ADAPTERS = { lavapipe: { workgroupBytes: 32768, invocations: 1024 }, h100: { workgroupBytes: 49152, invocations: 1024 }, webgpuDefault: { workgroupBytes: 16384, invocations: 256 } };
const KERNELS: TiledKernel[] = ['lse', 'forward', 'dq', 'dkdv'];

describe('pickTiles', () => {
  for (const [name, limits] of Object.entries(ADAPTERS)) {
    it(`${name}: a fitting, evenly divided tile for every d ≤ ${TILED_MAX_D}`, () => {
      for (let d = 1; d <= TILED_MAX_D; d++) {
        for (const kernel of KERNELS) {
          const c = pickTiles(kernel, d, d, limits);
          expect(c, `${kernel} d=${d}`).not.toBeNull();
          expect(c!.bytes).toBe(4 * workgroupFloats(kernel, d, d, c!.br, c!.bc, c!.tx));
          expect(c!.bytes).toBeLessThanOrEqual(limits.workgroupBytes);
          expect(c!.tx * c!.ty).toBeLessThanOrEqual(limits.invocations);
          expect(c!.br % c!.ty).toBe(0);
          expect(c!.bc % c!.tx).toBe(0);
        }
      }
    });
  }

  it('more workgroup memory never gives a smaller tile', () => {
    for (const d of [8, 64, 128, 256]) {
      for (const kernel of KERNELS) {
        const small = pickTiles(kernel, d, d, ADAPTERS.lavapipe)!;
        const large = pickTiles(kernel, d, d, ADAPTERS.h100)!;
        expect(large.br * large.bc).toBeGreaterThanOrEqual(small.br * small.bc);
      }
    }
  });

  it('emits the constants the shaders use', () => {
    const text = tileConstants(pickTiles('forward', 40, 24, ADAPTERS.lavapipe)!);
    for (const name of ['D', 'DV', 'BR', 'BC', 'TX', 'TY', 'RM', 'RN', 'CD', 'CV', 'THREADS', 'KP']) {
      expect(text).toMatch(new RegExp(`^const ${name}: u32 = \\d+u;$`, 'm'));
    }
    expect(text).toContain('const D: u32 = 40u;');
    expect(text).toContain('const DV: u32 = 24u;');
  });
});
