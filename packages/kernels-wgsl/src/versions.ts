/**
 * The version table of the tiled WGSL kernels, one row per stage and version, and the knobs a variant may set.
 * plan.ts takes each stage's shader files and compile choices from its row, the tile pickers its per-version choices,
 * Backend.kernelVersions / knobs and `attn --help` list it, and the tests run every row. Adding a version is its
 * shader files plus one row per stage (README.md, "Adding a version").
 */
import type { Dtype, KernelStage, KernelVersion, VariantKnob } from '@attn/reference';
import { STAGE_TOKENS } from '@attn/reference';
import { SUBGROUP_MATRIX } from './dawn.js';
import { SGMAT_MAX_D } from './sgmat.js';
import type { TiledKernel } from './tiling.js';

/** The tiled kernels (dispatches with generated tile constants) each stage runs; backward also runs the D pre-pass. */
export const STAGE_KERNELS: Readonly<Record<KernelStage, readonly TiledKernel[]>> = {
  lse: ['lse'],
  forward: ['forward'],
  backward: ['dkdv', 'dq'],
};

export interface WgslKernelVersion extends KernelVersion {
  /** shader file of each of the stage's kernels (STAGE_KERNELS) */
  files: Readonly<Partial<Record<TiledKernel, string>>>;
  /**
   * tile picker: 'whole' = src/tiling.ts (the resident side whole in workgroup memory), 'chunked' = src/tiling2.ts,
   * 'matrix' = src/sgmat.ts (subgroup matrices: the shaders are float16 as written, not a generated f16 form)
   */
  tiles: 'whole' | 'chunked' | 'matrix';
  /** expand the loops the shaders mark @unroll (src/unroll.ts) */
  unrollRegisters: boolean;
  /** expand the loops marked @unroll-gpu too, where the tile has constant loop bounds (GPUs; unroll=1) */
  unrollChunks: boolean;
  /** skip the per-score masks in tiles that need none (FAST_INTERIOR) */
  fastInterior: boolean;
  /**
   * keys per invocation of this version's lse kernel unless cols= says otherwise (absent: 4). lse5 takes 8: 128 × 128
   * tiles on the H100, 1.25–1.3× over 4; the kernels that also hold P or dS tiles in workgroup memory were slower with 8.
   */
  lseCols?: number;
  /** head dims it has kernels for (d, dv multiples of multipleOf, at most maxD); elsewhere it runs `fallback` */
  needs?: { multipleOf?: number; maxD?: number; fallback: number };
  /** the adapter feature its shaders need (requested on a device of its own only when a variant runs the row) */
  feature?: string;
  /** where it was measured: report folders under reports/ */
  measured: readonly string[];
  /** the storage dtypes it has kernels for (float16: the float32 shaders' f16 form, src/half-shader.ts) */
  dtypes: readonly Dtype[];
}

const V2 = { lse: 'lse_tiled2.wgsl', forward: 'forward_tiled2.wgsl', dq: 'backward_tiled2_dq.wgsl', dkdv: 'backward_tiled2_dkdv.wgsl' };
const V4 = { lse: 'lse_tiled4.wgsl', forward: 'forward_tiled4.wgsl', dq: 'backward_tiled4_dq.wgsl', dkdv: 'backward_tiled4_dkdv.wgsl' };
const V1 = { lse: 'lse_tiled.wgsl', forward: 'forward_tiled.wgsl', dq: 'backward_tiled_dq.wgsl', dkdv: 'backward_tiled_dkdv.wgsl' };
const V6 = { lse: 'lse_sgmat.wgsl', forward: 'forward_sgmat.wgsl', dq: 'backward_sgmat_dq.wgsl', dkdv: 'backward_sgmat_dkdv.wgsl' };
const H100 = 'reports/h100/2026-11-25';
const H100_WGSL5 = 'reports/h100/2026-11-25-wgsl5';
const H200 = 'reports/h200/2026-11-29';
const H200_HALF2 = 'reports/h200/2026-11-29-half2';
const VEC4 = { multipleOf: 4, fallback: 3 };
const BOTH: readonly Dtype[] = ['float32', 'float16'];
// versions 2 and 4 are the steps to 3 and 5 (the same shaders, fewer loops unrolled in the source): their float16
// forms would add test time and nothing a run needs
const F32: readonly Dtype[] = ['float32'];
// subgroup matrices take f16 (or integer) operands only: version 6 is float16
const F16: readonly Dtype[] = ['float16'];

/** What a generation is, shared by its three stage rows. */
interface Generation {
  version: number;
  technique: string;
  limits?: string;
  files: typeof V1;
  tiles: WgslKernelVersion['tiles'];
  unrollRegisters: boolean;
  unrollChunks: boolean;
  fastInterior: boolean;
  lseCols?: number;
  needs?: WgslKernelVersion['needs'];
  feature?: string;
  measured: readonly string[];
  dtypes: readonly Dtype[];
  isDefault?: true;
}

const GENERATIONS: readonly Generation[] = [
  {
    version: 1, files: V1, tiles: 'whole', unrollRegisters: false, unrollChunks: false, fastInterior: false, measured: [H100], dtypes: BOTH,
    technique: 'resident tile whole in workgroup memory, transposed rows padded to BC + 1, scalar reads',
  },
  {
    version: 2, files: V2, tiles: 'chunked', unrollRegisters: false, unrollChunks: false, fastInterior: false, measured: [H100, H100_WGSL5], dtypes: F32,
    technique: 'register tiles RM × RN read as vec4; d in chunks of EC, so workgroup memory does not grow with d',
  },
  {
    version: 3, files: V2, tiles: 'chunked', unrollRegisters: true, unrollChunks: false, fastInterior: false, measured: [H100_WGSL5], dtypes: BOTH,
    technique: "version 2's shaders with the register loops unrolled in the source (src/unroll.ts)",
  },
  {
    version: 4, files: V4, tiles: 'chunked', unrollRegisters: true, unrollChunks: false, fastInterior: false, needs: VEC4, measured: [H100_WGSL5], dtypes: F32,
    technique: 'chunks loaded as vec4 one chunk ahead into registers (shaders/tiles4.wgsl)',
    limits: 'd, dv ≡ 0 mod 4, else version 3',
  },
  {
    version: 5, files: V4, tiles: 'chunked', unrollRegisters: true, unrollChunks: true, fastInterior: true, needs: VEC4, lseCols: 8,
    measured: [H100_WGSL5, H200], dtypes: BOTH, isDefault: true,
    technique: "version 4's shaders with the GEMM loops over a chunk unrolled in the source (GPUs), no per-score masks in interior tiles",
    limits: 'd, dv ≡ 0 mod 4, else version 3',
  },
  {
    version: 6, files: V6, tiles: 'matrix', unrollRegisters: true, unrollChunks: true, fastInterior: false, needs: { maxD: SGMAT_MAX_D, fallback: 5 },
    feature: SUBGROUP_MATRIX, measured: [H200_HALF2], dtypes: F16,
    technique: 'S = Q·Kᵀ, O += P·V, dP = dO·Vᵀ, dV += Pᵀ·dO, dK += dSᵀ·Q, dQ += dS·K on subgroup matrices (f16 operands staged in workgroup memory, f32 results; the configuration picked from the adapter), P and dS by the invocations',
    limits: `float16 only; the adapter feature ${SUBGROUP_MATRIX}; d, dv ≤ ${SGMAT_MAX_D}, else version 5`,
  },
];

function row(g: Generation, stage: KernelStage): WgslKernelVersion {
  const { files, lseCols, limits, ...rest } = g;
  const lse = stage === 'lse' && lseCols !== undefined;
  return {
    ...rest,
    ...(limits ? { limits } : {}),
    stage,
    technique: lse ? `${g.technique}; ${lseCols} keys per invocation` : g.technique,
    files: Object.fromEntries(STAGE_KERNELS[stage].map((k) => [k, files[k]])),
    ...(lse ? { lseCols } : {}),
  };
}

/** Every stage × version, in stage order; the rows with isDefault are what a plain 'tiled' runs. */
export const WGSL_VERSIONS: readonly WgslKernelVersion[] = (['lse', 'forward', 'backward'] as const).flatMap((stage) =>
  GENERATIONS.map((g) => row(g, stage)),
);

/** 'fwd5' for (forward, 5): the variant token of a row. */
export function stageToken(stage: KernelStage, version: number): string {
  const token = Object.entries(STAGE_TOKENS).find(([, s]) => s === stage)![0];
  return `${token}${version}`;
}

export function versionRow(stage: KernelStage, version: number): WgslKernelVersion {
  const r = WGSL_VERSIONS.find((v) => v.stage === stage && v.version === version);
  if (!r) throw new Error(`no WGSL kernel version ${stageToken(stage, version)}`);
  return r;
}

/**
 * The version a plain 'tiled' runs in a stage for a dtype: the default row where it takes the dtype, else the newest
 * that does; null where none does.
 */
export function defaultVersion(stage: KernelStage, dtype: Dtype, rows: readonly WgslKernelVersion[] = WGSL_VERSIONS): number | null {
  const taking = rows.filter((v) => v.stage === stage && v.dtypes.includes(dtype));
  const chosen = taking.find((v) => v.isDefault) ?? taking.reduce<WgslKernelVersion | null>((a, v) => (a && a.version > v.version ? a : v), null);
  return chosen?.version ?? null;
}

/**
 * The knobs of 'tiled@…'. Defaults are the adapter's: a GPU gets rows 8, unroll 1; a CPU adapter rows 4, unroll 0
 * (NOTES.md has the measurements).
 */
export const WGSL_KNOBS: readonly VariantKnob[] = [
  { name: 'rows', values: ['4', '8'], description: 'query (or key) rows per invocation, versions 2–5 (default: 8 on GPUs, 4 on CPU adapters)' },
  { name: 'cols', values: ['4', '8'], description: 'streamed keys (or queries) per invocation, versions 2–5 (default 4; lse5: 8)' },
  { name: 'threads', values: [], description: 'most invocations per workgroup, versions 2–5 (default: the adapter limit)' },
  { name: 'regs', values: [], description: "the tile picker's register budget in live floats per invocation, versions 2–5 (default 128)" },
  { name: 'wgmem', values: [], description: 'most bytes of workgroup memory a tile may use (default: the adapter limit)' },
  { name: 'side', values: ['1', '2', '4', '8', '16'], description: 'most invocations per side of a workgroup (default 16)' },
  { name: 'unroll', values: ['0', '1'], description: 'constant loop bounds, unrolled by the compiler and (5) in the source (default: 1 on GPUs, 0 on CPU adapters)' },
  { name: 'robust', values: ['on', 'off'], description: "Dawn's bounds clamps; off runs on a second device without them (default on)" },
  {
    name: 'majorness',
    values: ['template', 'flag'],
    description: 'version 6: subgroupMatrixLoad<T, row_major>(p, off, stride) (default) or the deprecated form with a col_major argument',
  },
];
