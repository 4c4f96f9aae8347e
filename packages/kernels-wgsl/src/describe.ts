/** What a stage runs, in one line: Session.kernels and info()'s tiles. */
import type { GpuContext } from './dawn.js';
import { SHADER_F16, SUBGROUP_MATRIX } from './dawn.js';
import type { AnyTileConfig, StageKernels } from './plan.js';
import { isMatrixTile } from './plan.js';
import { describeMatrixTile } from './sgmat.js';
import { STAGE_KERNELS, stageToken } from './versions.js';

/** '128x64 tile, 16x16 invocations of 8x4' (version 1, which has no register-tile constants: without 'of …'). */
export function describeTile(c: AnyTileConfig): string {
  if (isMatrixTile(c)) return describeMatrixTile(c);
  const each = 'version' in c ? ` of ${c.rm}x${c.rn}` : '';
  return `${c.br}x${c.bc} tile, ${c.tx}x${c.ty} invocations${each}`;
}

/**
 * What the device adds to every kernel's line: '; clamps off' (robust=off), '; float16 (shader-f16)' or, where the
 * adapter offers shader-f16 only with Dawn toggles, '; float16 (shader-f16, Dawn toggles allow_unsafe_apis, …)'.
 */
export function deviceSuffix(ctx: Pick<GpuContext, 'kind' | 'halfToggles'>): string {
  const clamps = ctx.kind.robustness === 'off' ? '; clamps off' : '';
  if (ctx.kind.storage !== 'float16') return clamps;
  const toggles = ctx.halfToggles.length ? `, Dawn toggles ${ctx.halfToggles.join(', ')}` : '';
  const matrices = ctx.kind.matrices ? `, ${SUBGROUP_MATRIX}` : '';
  return `${clamps}; float16 (${SHADER_F16}${matrices}${toggles})`;
}

/**
 * 'fwd5: 128x64 tile, 16x16 invocations of 8x4', 'fwd3 (fwd5 needs d, dv ≡ 0 mod 4): …', backward naming its two
 * kernels ('bwd5: dkdv … + dq …'), then what changes the compiled code: '; unrolled' (constant loop bounds), then the
 * device's suffix (deviceSuffix: '; clamps off', '; float16 (…)').
 */
export function describeStageKernels(s: StageKernels, suffix = ''): string {
  const kernels = STAGE_KERNELS[s.stage];
  const tiles = kernels.map((k) => (kernels.length > 1 ? `${k} ` : '') + describeTile(s.tiles[k]!)).join(' + ');
  const unrolled = kernels.every((k) => s.tiles[k]!.unroll) ? '; unrolled' : '';
  const token = stageToken(s.stage, s.row.version);
  return `${token}${s.fallback ? ` (${s.fallback})` : ''}: ${tiles}${unrolled}${suffix}`;
}
