// Kernel 2 tile shapes exist for every d in 1..256 on the CPU adapter's, the H100's and WebGPU's default limits, fit
// them, and satisfy what the shaders assume (vec4 register tiles, EC a multiple of 8, JC dividing BC).
import { describe, expect, it } from 'vitest';
import type { TiledKernel } from '../src/tiling.js';
import { TILED_MAX_D } from '../src/tiling.js';
import { stagePlan, tiledConfigs, unrollChoice } from '../src/plan.js';
import type { Tile2Config } from '../src/tiling2.js';
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

describe('kernel versions 3 to 5 in the plan', () => {
  const limits = { workgroupBytes: 49152, invocations: 1024, rows: 8 };
  const problem = (d: number) => ({ bh: 1, nq: 100, nk: 70, d, dv: d, scale: 1, causal: false });

  it('kernels 4 and 5 run vec4 chunks where d and dv are multiples of 4, kernel 3 elsewhere', () => {
    for (const version of [4, 5] as const) {
      const fits = tiledConfigs(problem(64), { ...limits, version });
      const odd = tiledConfigs(problem(6), { ...limits, version });
      if (typeof fits === 'string' || typeof odd === 'string') throw new Error('no tile');
      for (const kernel of KERNELS) {
        expect((fits[kernel] as Tile2Config).version).toBe(version);
        expect((odd[kernel] as Tile2Config).version).toBe(3);
      }
      const files = stagePlan(problem(64), 'tiled', 'backward', fits).map((d) => d.file);
      expect(files).toEqual(['backward_delta.wgsl', 'backward_tiled4_dkdv.wgsl', 'backward_tiled4_dq.wgsl']);
    }
  });

  it('kernel 5 takes 8 keys per invocation in lse (128 × 128 on the H100), 4 elsewhere; ATTN_WGSL_COLS overrides', () => {
    const t = tiledConfigs(problem(64), { ...limits, version: 5 });
    if (typeof t === 'string') throw new Error('no tile');
    expect([t.lse.br, t.lse.bc, (t.lse as Tile2Config).rn]).toEqual([128, 128, 8]);
    expect((t.forward as Tile2Config).rn).toBe(4);
    expect(pickTiles2('lse', 64, 64, { ...limits, version: 5, cols: 4 })!.rn).toBe(4);
  });

  it('only kernel 5 compiles the @unroll-gpu loops, and only with constant bounds (GPUs)', () => {
    const gpu = pickTiles2('forward', 64, 64, { ...limits, version: 5 })!;
    expect(unrollChoice(gpu)).toEqual({ unroll: true, gpu: true });
    expect(unrollChoice({ ...gpu, unroll: false })).toEqual({ unroll: true, gpu: false });
    expect(unrollChoice({ ...gpu, version: 4 })).toEqual({ unroll: true, gpu: false });
    expect(unrollChoice({ ...gpu, version: 2 })).toEqual({ unroll: false, gpu: false });
    expect(tileConstants2(gpu)).toContain('const FAST_INTERIOR: bool = true;');
    expect(tileConstants2({ ...gpu, version: 4 })).toContain('const FAST_INTERIOR: bool = false;');
  });
});
