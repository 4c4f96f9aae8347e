/**
 * Which dispatches make each stage of each variant: shader file, entry point, buffers bound, tile config and how
 * many workgroup items (flattened over a 2-D grid by gridFor). Binding numbers are shared by all shaders.
 */
import type { Dtype, KernelStage, Problem, TensorName } from '@attn/reference';
import { tensorSize } from '@attn/reference';
import type { UnrollChoice } from './shader-source.js';
import type { TileConfig, TiledKernel } from './tiling.js';
import { pickTiles, tileConstants, tileKey } from './tiling.js';
import type { MatrixDevice, MatrixTileConfig } from './sgmat.js';
import { EMULATED, matrixConstants, matrixTileKey, pickMatrixTiles } from './sgmat.js';
import type { Tile2Config, Tile2Limits } from './tiling2.js';
import { pickTiles2, tileConstants2, tileKey2 } from './tiling2.js';
import type { WgslKernelVersion } from './versions.js';
import { defaultVersion, STAGE_KERNELS, stageToken, versionRow } from './versions.js';

export type BufferName = 'params' | 'q' | 'k' | 'v' | 'dO' | 'lse' | 'o' | 'dq' | 'dk' | 'dv' | 'delta' | 's' | 'ds';
export const BINDING: Readonly<Record<BufferName, number>> = {
  params: 0, q: 1, k: 2, v: 3, dO: 4, lse: 5, o: 6, dq: 7, dk: 8, dv: 9, delta: 10, s: 11, ds: 12,
};

export type WgslVariant = 'naive' | 'tiled';

/**
 * The 'lse' buffer holds three blocks of bh·nq floats (shaders/common.wgsl): the public lse, then a_ref and c, from
 * which stages 2 and 3 form P = exp((a − a_ref)·scale − c) with a = Q·K unscaled; every other tensor is one block.
 */
export const LSE_PARTS = 3;

/** Elements of the device buffer that holds a tensor. */
export function bufferElements(p: Problem, name: TensorName): number {
  return (name === 'lse' ? LSE_PARTS : 1) * tensorSize(p, name);
}

/** The buffers stored in the problem's dtype (src/half-shader.ts HALF_TENSORS); lse, D and the scores stay f32. */
const DTYPE_BUFFERS: readonly BufferName[] = ['q', 'k', 'v', 'dO', 'o', 'dq', 'dk', 'dv'];

/** Whether a buffer holds its elements as float16. */
export function isHalfBuffer(p: Problem, name: BufferName): boolean {
  return p.dtype === 'float16' && DTYPE_BUFFERS.includes(name);
}

/** Bytes of `elements` elements of buffer `name`, rounded up to the 4 bytes a buffer size and a copy take. */
export function bufferBytes(p: Problem, name: BufferName, elements: number): number {
  return 4 * Math.ceil(((isHalfBuffer(p, name) ? 2 : 4) * elements) / 4);
}

/** The 'lse' buffer for an lse the host writes: (lse, a_ref = 0, c = lse) per row, so P = exp(a·scale − lse). */
export function hostLseBuffer(lse: Float32Array): Float32Array {
  const out = new Float32Array(LSE_PARTS * lse.length);
  out.set(lse, 0);
  out.set(lse, 2 * lse.length);
  return out;
}

export type AnyTileConfig = TileConfig | Tile2Config | MatrixTileConfig;

export const isMatrixTile = (c: AnyTileConfig): c is MatrixTileConfig => 'matrix' in c;

export function anyTileKey(c: AnyTileConfig): string {
  return isMatrixTile(c) ? matrixTileKey(c) : 'version' in c ? tileKey2(c) : tileKey(c);
}

export function anyTileConstants(c: AnyTileConfig): string {
  return isMatrixTile(c) ? matrixConstants(c) : 'version' in c ? tileConstants2(c) : tileConstants(c);
}

export interface Dispatch {
  file: string;
  entry: string;
  bindings: readonly BufferName[];
  /** null for the naive shaders (no generated constants) */
  tiles: AnyTileConfig | null;
  /** which marked loops are expanded in the source (src/unroll.ts) */
  unroll: UnrollChoice;
  /** workgroup items; the shader maps item = wid.x + wid.y·nwg.x back to (bh, tile) */
  items: number;
  /** the shader's float16 form (src/half-shader.ts); version 6's shaders are float16 as written and say false */
  half: boolean;
}

const cdiv = (a: number, b: number): number => Math.ceil(a / b);

function naive(p: Problem, stage: KernelStage): Dispatch[] {
  const block = (rows: number, cols: number): number => p.bh * cdiv(rows, 16) * cdiv(cols, 16);
  const half = p.dtype === 'float16';
  const n = (file: string, entry: string, bindings: BufferName[], items: number): Dispatch => ({ file, entry, bindings, tiles: null, unroll: NO_UNROLL, items, half });
  switch (stage) {
    case 'lse':
      return [
        n('lse_naive.wgsl', 'scores', ['params', 'q', 'k', 's'], block(p.nq, p.nk)),
        n('lse_naive.wgsl', 'reduce', ['params', 's', 'lse'], p.bh * p.nq),
      ];
    case 'forward':
      return [
        n('forward_naive.wgsl', 'probs', ['params', 'q', 'k', 'lse', 's'], block(p.nq, p.nk)),
        n('forward_naive.wgsl', 'pv', ['params', 's', 'v', 'o'], block(p.nq, p.dv)),
      ];
    case 'backward':
      return [
        delta(p),
        n('backward_naive.wgsl', 'probs', ['params', 'q', 'k', 'lse', 's'], block(p.nq, p.nk)),
        n('backward_naive.wgsl', 'dscore', ['params', 'v', 'dO', 'delta', 's', 'ds'], block(p.nq, p.nk)),
        n('backward_naive.wgsl', 'dq_pass', ['params', 'k', 'ds', 'dq'], block(p.nq, p.d)),
        n('backward_naive.wgsl', 'dkdv_pass', ['params', 'q', 'dO', 's', 'ds', 'dk', 'dv'], block(p.nk, Math.max(p.d, p.dv))),
      ];
  }
}

function delta(p: Problem): Dispatch {
  return { file: 'backward_delta.wgsl', entry: 'main', bindings: ['params', 'dO', 'o', 'delta'], tiles: null, unroll: NO_UNROLL, items: cdiv(p.bh * p.nq, 64), half: p.dtype === 'float16' };
}

/**
 * The adapter's limits and the variant's knobs: version 1 reads TileLimits, versions 2–5 the rest of Tile2Limits,
 * version 6 the matrix device (its configuration and subgroup size; absent before the device is open, when a
 * nominal f16 16×16×16 → f32 in subgroups of 32 stands in for check()'s fit test).
 */
export type TiledLimits = Omit<Tile2Limits, 'version' | 'fastInterior'> & { matrix?: MatrixDevice };

const NOMINAL_MATRIX: MatrixDevice = { ...EMULATED, emulated: false, majorness: 'template' };

/** What one stage runs for one problem: the version asked for, the one that runs, and its tiles. */
export interface StageKernels {
  stage: KernelStage;
  asked: number;
  row: WgslKernelVersion;
  /** why row is not the version asked for, e.g. 'fwd5 needs d, dv ≡ 0 mod 4' */
  fallback?: string;
  /** the tile of each of the stage's kernels (STAGE_KERNELS) */
  tiles: Partial<Record<TiledKernel, AnyTileConfig>>;
}

export type TiledPlan = Record<KernelStage, StageKernels>;

/** What a row lacks for these head dims ('d, dv ≡ 0 mod 4', 'd, dv ≤ 128'), or null. */
function lacking(p: Problem, row: WgslKernelVersion): string | null {
  const n = row.needs;
  if (!n) return null;
  if (n.multipleOf !== undefined && (p.d % n.multipleOf !== 0 || p.dv % n.multipleOf !== 0)) return `d, dv ≡ 0 mod ${n.multipleOf}`;
  if (n.maxD !== undefined && (p.d > n.maxD || p.dv > n.maxD)) return `d, dv ≤ ${n.maxD}`;
  return null;
}

/** The version a stage runs for these head dims: the one asked for, or its fallback where it has no kernel. */
function runnable(p: Problem, stage: KernelStage, asked: number): { row: WgslKernelVersion; fallback?: string } {
  let row = versionRow(stage, asked);
  let fallback: string | undefined;
  for (let why = lacking(p, row); why !== null; why = lacking(p, row)) {
    fallback ??= `${stageToken(stage, asked)} needs ${why}`;
    row = versionRow(stage, row.needs!.fallback);
  }
  // check() refuses a version without the dtype (versionsFor); the table gives every fallback its version's dtypes
  if (!row.dtypes.includes(p.dtype)) throw new Error(`${stageToken(stage, row.version)} has no ${p.dtype} kernels (src/versions.ts)`);
  return fallback === undefined ? { row } : { row, fallback };
}

/**
 * The version each stage runs for a dtype: the asked one where the variant named it (tiled@fwd2, tiled@v3), else the
 * dtype's default (versions.ts defaultVersion); or one line saying which version lacks the dtype.
 */
export function versionsFor(
  asked: Readonly<Record<KernelStage, number>>,
  defaulted: readonly KernelStage[],
  dtype: Dtype,
  variant: string,
): Record<KernelStage, number> | string {
  const out = { ...asked };
  for (const stage of ['lse', 'forward', 'backward'] as const) {
    if (defaulted.includes(stage)) {
      const v = defaultVersion(stage, dtype);
      if (v === null) return `wgsl ${variant}: no ${stage} version takes ${dtype}`;
      out[stage] = v;
    }
    const row = versionRow(stage, out[stage]);
    if (!row.dtypes.includes(dtype)) {
      const token = `tiled@${stageToken(stage, row.version)}`;
      return `wgsl ${token} takes ${row.dtypes.join(', ')}, not ${dtype}${variant === token ? '' : ` (asked: ${variant})`}`;
    }
  }
  return out;
}

function pickFor(kernel: TiledKernel, p: Problem, row: WgslKernelVersion, limits: TiledLimits): AnyTileConfig | null {
  if (row.tiles === 'whole') return pickTiles(kernel, p.d, p.dv, limits);
  if (row.tiles === 'matrix') {
    return pickMatrixTiles(kernel, p.d, p.dv, { workgroupBytes: limits.workgroupBytes, invocations: limits.invocations, device: limits.matrix ?? NOMINAL_MATRIX, unroll: limits.unroll ?? true }, row.version);
  }
  const cols = limits.cols ?? (kernel === 'lse' ? row.lseCols : undefined);
  return pickTiles2(kernel, p.d, p.dv, { ...limits, cols, version: row.version, fastInterior: row.fastInterior });
}

/**
 * Each stage's version (asked: from the variant, src/variant-choice.ts), its fallback for these head dims, and the
 * tiles of its kernels; or the name of a kernel no tile of which fits the limits.
 */
export function tiledPlan(p: Problem, asked: Readonly<Record<KernelStage, number>>, limits: TiledLimits): TiledPlan | TiledKernel {
  const out: Partial<TiledPlan> = {};
  for (const stage of ['lse', 'forward', 'backward'] as const) {
    const { row, fallback } = runnable(p, stage, asked[stage]);
    const tiles: Partial<Record<TiledKernel, AnyTileConfig>> = {};
    for (const kernel of STAGE_KERNELS[stage]) {
      const c = pickFor(kernel, p, row, limits);
      if (!c) return kernel;
      tiles[kernel] = c;
    }
    out[stage] = { stage, asked: asked[stage], row, tiles, ...(fallback === undefined ? {} : { fallback }) };
  }
  return out as TiledPlan;
}

const NO_UNROLL: UnrollChoice = { unroll: false, gpu: false };

/** How a tiled dispatch's shader is compiled: its row's marked loops, the @unroll-gpu ones only with constant bounds. */
export function unrollChoice(row: WgslKernelVersion, c: AnyTileConfig): UnrollChoice {
  return { unroll: row.unrollRegisters, gpu: row.unrollChunks && c.unroll };
}

const ITEMS: Readonly<Record<TiledKernel, (p: Problem) => number>> = { lse: (p) => p.nq, forward: (p) => p.nq, dq: (p) => p.nq, dkdv: (p) => p.nk };
const BINDINGS: Readonly<Record<TiledKernel, readonly BufferName[]>> = {
  lse: ['params', 'q', 'k', 'lse'],
  forward: ['params', 'q', 'k', 'v', 'lse', 'o'],
  dkdv: ['params', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'dk', 'dv'],
  dq: ['params', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'dq'],
};

function tiled(p: Problem, s: StageKernels): Dispatch[] {
  const out: Dispatch[] = s.stage === 'backward' ? [delta(p)] : [];
  for (const kernel of STAGE_KERNELS[s.stage]) {
    const c = s.tiles[kernel]!;
    const file = s.row.files[kernel];
    if (!file) throw new Error(`${stageToken(s.stage, s.row.version)} has no shader for the ${kernel} kernel (src/versions.ts)`);
    const half = p.dtype === 'float16' && !isMatrixTile(c);
    out.push({ file, entry: 'main', bindings: BINDINGS[kernel], tiles: c, unroll: unrollChoice(s.row, c), items: p.bh * cdiv(ITEMS[kernel](p), c.br), half });
  }
  return out;
}

/** Whether a plan runs a subgroup-matrix version in some stage (its device needs the feature). */
export function usesMatrices(plan: TiledPlan): boolean {
  return Object.values(plan).some((s) => s.row.tiles === 'matrix');
}

export function stagePlan(p: Problem, variant: WgslVariant, stage: KernelStage, plan: TiledPlan | null): Dispatch[] {
  if (variant === 'naive') return naive(p, stage);
  if (!plan) throw new Error('tiled plan without tile configs');
  return tiled(p, plan[stage]);
}

/** (x, y) workgroups covering `items`, or null when even maxDim² is not enough. */
export function gridFor(items: number, maxDim: number): [number, number] | null {
  const x = Math.max(1, Math.min(items, maxDim));
  const y = Math.ceil(items / x);
  return y <= maxDim ? [x, y] : null;
}

/** Scratch buffers each variant needs besides the tensors. */
export function scratchElements(p: Problem, variant: WgslVariant): Partial<Record<BufferName, number>> {
  const scores = p.bh * p.nq * p.nk;
  return variant === 'naive' ? { delta: p.bh * p.nq, s: scores, ds: scores } : { delta: p.bh * p.nq };
}
