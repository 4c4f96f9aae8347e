// Version 6's plan-time choices without an adapter: the matrix configuration picked from fake subgroupMatrixConfigs
// lists (f16 → f32, 16×16×16 first; one line when none fits), the subgroup size (one line when it varies), the tiles
// (within 48 KiB, accumulators within budget), and the generated shader text (constants substituted, the matrix types
// with the configuration's dims in the right order, no marker left; the deprecated majorness form rewrites every call).
import { describeVersions } from '@attn/reference';
import { describe, expect, it } from 'vitest';
import { matrixOffer } from '../src/dawn.js';
import type { MatrixConfig, MatrixDevice } from '../src/sgmat.js';
import { emulateMatrices, matrixBytes, pickMatrixConfig, pickMatrixTiles } from '../src/sgmat.js';
import { composeShader } from '../src/shader-source.js';
import { anyTileConstants } from '../src/plan.js';
import { parseWgslVariant } from '../src/variant-choice.js';
import { WGSL_KNOBS, WGSL_VERSIONS } from '../src/versions.js';

const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number): MatrixConfig => ({ componentType, resultComponentType, M, N, K });
// what NVIDIA's Vulkan driver lists on the H200 (2026-11-29), in its order
const NVIDIA = [
  cfg('f16', 'f16', 16, 16, 16), cfg('f16', 'f32', 16, 8, 16), cfg('f16', 'f16', 16, 8, 16), cfg('f16', 'f32', 16, 8, 8), cfg('f16', 'f16', 16, 8, 8),
  cfg('f16', 'f32', 16, 16, 16), cfg('u8', 'u32', 16, 16, 32), cfg('i8', 'i32', 16, 16, 32), cfg('u8', 'u32', 16, 8, 32), cfg('i8', 'i32', 16, 8, 32),
];
const FILES = { lse: 'lse_sgmat.wgsl', forward: 'forward_sgmat.wgsl', dq: 'backward_sgmat_dq.wgsl', dkdv: 'backward_sgmat_dkdv.wgsl' } as const;
const device = (config: MatrixConfig, majorness: MatrixDevice['majorness'] = 'template'): MatrixDevice => ({ config, subgroupSize: 32, emulated: false, majorness });

describe('version 6: configuration, tiles, shader text', () => {
  it('picks f16 → f32 16×16×16 from NVIDIA\'s list, else the largest f16 → f32', () => {
    expect(pickMatrixConfig(NVIDIA)).toEqual(cfg('f16', 'f32', 16, 16, 16));
    expect(pickMatrixConfig(NVIDIA.filter((c) => !(c.M === 16 && c.N === 16 && c.K === 16)))).toEqual(cfg('f16', 'f32', 16, 8, 16));
    expect(pickMatrixConfig([cfg('f32', 'f32', 8, 8, 8), cfg('f16', 'f32', 8, 8, 8)])).toEqual(cfg('f16', 'f32', 8, 8, 8));
  });

  it('refuses in one line naming what the adapter offers when no f16 → f32 configuration fits', () => {
    const line = pickMatrixConfig([cfg('f16', 'f16', 16, 16, 16), cfg('i8', 'i32', 16, 16, 32), cfg('f16', 'f32', 4, 4, 4)]);
    expect(line).toBe('no subgroup-matrix configuration takes f16 operands into an f32 result with M, N, K multiples of 8 up to 32 (the adapter offers: f16 16x16x16 -> f16, i8 16x16x32 -> i32, f16 4x4x4 -> f32)');
    expect(pickMatrixConfig([])).toMatch(/offers: none\)$/);
    expect(matrixOffer({ subgroupMatrixConfigs: NVIDIA, subgroupMinSize: 8, subgroupMaxSize: 32 }, 'Intel Arc')).toBe('wgsl tiled version 6 needs one subgroup size, Intel Arc has 8 to 32');
    expect(matrixOffer({ subgroupMatrixConfigs: NVIDIA, subgroupMinSize: 32, subgroupMaxSize: 32 }, 'NVIDIA H200')).toEqual({ config: cfg('f16', 'f32', 16, 16, 16), subgroupSize: 32 });
  });

  it.each([[64, 49152], [128, 49152], [100, 49152], [3, 49152], [128, 32768], [64, 16384]])('d = %i: every kernel has a tile within %i bytes, 8 accumulators per subgroup, an epilogue that fits', (d, bytes) => {
    for (const kernel of ['lse', 'forward', 'dq', 'dkdv'] as const) {
      const t = pickMatrixTiles(kernel, d, d, { workgroupBytes: bytes, invocations: 1024, device: device(cfg('f16', 'f32', 16, 16, 16)) });
      expect(t, kernel).not.toBeNull();
      expect(t!.bytes).toBeLessThanOrEqual(bytes);
      // the accumulators pass through sf as BR rows of OCN·N + 4 floats (ECS): that must fit sf
      const k = Object.fromEntries([...anyTileConstants(t!).matchAll(/const (\w+): u32 = (\d+)u;/g)].map((m) => [m[1], Number(m[2])]));
      if (kernel !== 'lse') expect(k.BR! * k.ECS!, kernel).toBeLessThanOrEqual(k.SF_LEN!);
      expect(t!.bytes).toBe(matrixBytes({ kernel, w: t!.w, br: t!.br, bc: t!.bc, dp: t!.dp, dvp: t!.dvp, c: t!.device.config, sg: 32 }));
      expect(t!.accumulators).toBeLessThanOrEqual(8);
      expect(t!.dp % 16).toBe(0);
    }
    expect(pickMatrixTiles('forward', 160, 160, { workgroupBytes: 49152, invocations: 1024, device: device(cfg('f16', 'f32', 16, 16, 16)) })).toBeNull();
  });

  it.each(Object.keys(FILES) as (keyof typeof FILES)[])('%s: the shader text of a 16×8×16 configuration', (kernel) => {
    const t = pickMatrixTiles(kernel, 64, 64, { workgroupBytes: 49152, invocations: 1024, device: device(cfg('f16', 'f32', 16, 8, 16)) })!;
    const { code } = composeShader(FILES[kernel], anyTileConstants(t), { unroll: true, gpu: true }, false, t);
    expect(code.startsWith('diagnostic(off, chromium.subgroup_matrix_uniformity);\nenable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\n')).toBe(true);
    // type parameters are (columns, rows): left M × K, right K × N, result M × N
    expect(code).toContain('alias SmLeft = subgroup_matrix_left<f16, 16, 16>;');
    expect(code).toContain('alias SmRight = subgroup_matrix_right<f16, 8, 16>;');
    expect(code).toContain('alias SmResult = subgroup_matrix_result<f32, 8, 16>;');
    expect(code).toMatch(/const SM_M: u32 = 16u;\nconst SM_N: u32 = 8u;\nconst SM_K: u32 = 16u;/);
    expect(code).toContain('@builtin(subgroup_id) sg_id: u32');
    expect(code).not.toMatch(/\/\*@(sg-|unroll)/);
    expect(code).toMatch(/subgroupMatrixLoad<SmLeft, row_major>\(&/);
    expect(code).not.toMatch(/subgroupMatrix(Load|Store)<[^>]*>?\([^)]*, (true|false), /);
    // the deprecated form: majorness as the bool argument before the stride, on every call
    const flag = composeShader(FILES[kernel], anyTileConstants({ ...t, device: device(t.device.config, 'flag') }), { unroll: true, gpu: true }, false, { ...t, device: device(t.device.config, 'flag') }).code;
    expect(flag).not.toMatch(/(row|col)_major/);
    expect(flag.match(/subgroupMatrixLoad<Sm(Left|Right)>\(&\w+, .*, (true|false), \w+\)/g)?.length).toBe(code.match(/subgroupMatrixLoad</g)?.length);
    expect(flag.match(/subgroupMatrixStore\(&\w+, .*, (true|false), \w+\)/g)?.length).toBe(code.match(/subgroupMatrixStore</g)?.length);
  });

  it('the emulated text calls no subgroup-matrix builtin and declares no subgroup-matrix type', () => {
    const t = pickMatrixTiles('dkdv', 40, 40, { workgroupBytes: 49152, invocations: 1024, device: { ...device(cfg('f16', 'f32', 16, 16, 16)), emulated: true } })!;
    const { code } = composeShader(FILES.dkdv, anyTileConstants(t), { unroll: true, gpu: false }, false, t);
    expect(code).not.toMatch(/subgroupMatrix|subgroup_matrix|subgroup_id|enable subgroups/);
    expect(code).toMatch(/fn emu_load_left_col_pf\(/);
    expect(() => emulateMatrices('let x = subgroupMatrixLoad<SmLeft, row_major>(&nowhere, 0u, 16u);')).toThrow(/'nowhere' is not a workgroup array/);
  });

  it('tiled@v6 selects version 6 in every stage, tiled@fwd6 in the forward only; --help lists the row and the knob', () => {
    expect(parseWgslVariant('tiled@v6').versions).toEqual({ lse: 6, forward: 6, backward: 6 });
    expect(parseWgslVariant('tiled@fwd6+majorness=flag')).toMatchObject({ versions: { forward: 6 }, defaulted: ['lse', 'backward'], knobs: { majorness: 'flag' } });
    const help = describeVersions('wgsl', WGSL_VERSIONS, WGSL_KNOBS).join('\n');
    expect(help).toMatch(/lse6[^\n]*subgroup matrices/);
    expect(help).toMatch(/majorness=template\|flag/);
  });
});
