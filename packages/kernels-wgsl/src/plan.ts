/**
 * Which dispatches make each stage of each variant: shader file, entry point, buffers bound, tile config and how
 * many workgroup items (flattened over a 2-D grid by gridFor). Binding numbers are shared by all shaders.
 */
import type { KernelStage, Problem, TensorName } from '@attn/reference';
import { tensorSize } from '@attn/reference';
import type { UnrollChoice } from './shader-source.js';
import type { TileConfig, TiledKernel } from './tiling.js';
import { pickTiles, tileConstants, tileKey } from './tiling.js';
import type { Tile2Config, Tile2Limits } from './tiling2.js';
import { pickTiles2, tileConstants2, tileKey2 } from './tiling2.js';

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

/** Floats of the device buffer that holds a tensor. */
export function bufferElements(p: Problem, name: TensorName): number {
  return (name === 'lse' ? LSE_PARTS : 1) * tensorSize(p, name);
}

/** The 'lse' buffer for an lse the host writes: (lse, a_ref = 0, c = lse) per row, so P = exp(a·scale − lse). */
export function hostLseBuffer(lse: Float32Array): Float32Array {
  const out = new Float32Array(LSE_PARTS * lse.length);
  out.set(lse, 0);
  out.set(lse, 2 * lse.length);
  return out;
}

/**
 * Which tiled kernels: 1 = shaders/*_tiled.wgsl (src/tiling.ts), 2 = shaders/*_tiled2*.wgsl (src/tiling2.ts),
 * 3 = kernel 2's shaders with their register loops unrolled in the source (src/unroll.ts), 4 = kernel 3 with vec4
 * chunks fetched one chunk ahead (shaders/*_tiled4*.wgsl; head dims not ≡ 0 mod 4 run version 3), 5 = kernel 4's shaders with the GEMM loops over a chunk unrolled too (on GPUs) and
 * no per-score masks where a tile needs none.
 */
export type TiledVersion = 1 | 2 | 3 | 4 | 5;
export type AnyTileConfig = TileConfig | Tile2Config;

export function anyTileKey(c: AnyTileConfig): string {
  return 'version' in c ? tileKey2(c) : tileKey(c);
}

export function anyTileConstants(c: AnyTileConfig): string {
  return 'version' in c ? tileConstants2(c) : tileConstants(c);
}

export interface Dispatch {
  file: string;
  entry: string;
  bindings: readonly BufferName[];
  /** null for the naive shaders (no generated constants) */
  tiles: AnyTileConfig | null;
  /** workgroup items; the shader maps item = wid.x + wid.y·nwg.x back to (bh, tile) */
  items: number;
}

const cdiv = (a: number, b: number): number => Math.ceil(a / b);

function naive(p: Problem, stage: KernelStage): Dispatch[] {
  const block = (rows: number, cols: number): number => p.bh * cdiv(rows, 16) * cdiv(cols, 16);
  const n = (file: string, entry: string, bindings: BufferName[], items: number): Dispatch => ({ file, entry, bindings, tiles: null, items });
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
  return { file: 'backward_delta.wgsl', entry: 'main', bindings: ['params', 'dO', 'o', 'delta'], tiles: null, items: cdiv(p.bh * p.nq, 64) };
}

/** The adapter's limits and the tuning knobs: version 1 reads TileLimits, versions 2–5 the rest of Tile2Limits. */
export interface TiledLimits extends Omit<Tile2Limits, 'version'> {
  version: TiledVersion;
}

export type TiledConfigs = Record<TiledKernel, AnyTileConfig>;

/** Tile configs of every tiled kernel for these head dims, or the name of one that does not fit. */
export function tiledConfigs(p: Problem, limits: TiledLimits): TiledConfigs | TiledKernel {
  const out: Partial<TiledConfigs> = {};
  for (const kernel of ['lse', 'forward', 'dq', 'dkdv'] as const) {
    const version = limits.version >= 4 && (p.d % 4 !== 0 || p.dv % 4 !== 0) ? 3 : limits.version;
    const c = version === 1 ? pickTiles(kernel, p.d, p.dv, limits) : pickTiles2(kernel, p.d, p.dv, { ...limits, version });
    if (!c) return kernel;
    out[kernel] = c;
  }
  return out as TiledConfigs;
}

const KERNEL2_FILES = { lse: 'lse_tiled2.wgsl', forward: 'forward_tiled2.wgsl', dq: 'backward_tiled2_dq.wgsl', dkdv: 'backward_tiled2_dkdv.wgsl' };
const KERNEL4_FILES = { lse: 'lse_tiled4.wgsl', forward: 'forward_tiled4.wgsl', dq: 'backward_tiled4_dq.wgsl', dkdv: 'backward_tiled4_dkdv.wgsl' };
/** Versions 3 and 5 compile the shaders of 2 and 4 differently (unrollChoice, FAST_INTERIOR), not other files. */
const FILES: Readonly<Record<TiledVersion, Record<TiledKernel, string>>> = {
  1: { lse: 'lse_tiled.wgsl', forward: 'forward_tiled.wgsl', dq: 'backward_tiled_dq.wgsl', dkdv: 'backward_tiled_dkdv.wgsl' },
  2: KERNEL2_FILES,
  3: KERNEL2_FILES,
  4: KERNEL4_FILES,
  5: KERNEL4_FILES,
};

const tiledFile = (c: AnyTileConfig, kernel: TiledKernel): string => FILES['version' in c ? c.version : 1][kernel];

/** How a dispatch's shader is compiled: its @unroll loops expanded (versions ≥ 3), its @unroll-gpu ones too (5, GPUs). */
export function unrollChoice(c: AnyTileConfig | null): UnrollChoice {
  const version = c !== null && 'version' in c ? c.version : 1;
  return { unroll: version >= 3, gpu: version >= 5 && c !== null && c.unroll };
}

function tiled(p: Problem, stage: KernelStage, t: TiledConfigs): Dispatch[] {
  switch (stage) {
    case 'lse':
      return [{ file: tiledFile(t.lse, 'lse'), entry: 'main', bindings: ['params', 'q', 'k', 'lse'], tiles: t.lse, items: p.bh * cdiv(p.nq, t.lse.br) }];
    case 'forward':
      return [{
        file: tiledFile(t.forward, 'forward'), entry: 'main', bindings: ['params', 'q', 'k', 'v', 'lse', 'o'], tiles: t.forward,
        items: p.bh * cdiv(p.nq, t.forward.br),
      }];
    case 'backward':
      return [
        delta(p),
        {
          file: tiledFile(t.dkdv, 'dkdv'), entry: 'main', bindings: ['params', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'dk', 'dv'],
          tiles: t.dkdv, items: p.bh * cdiv(p.nk, t.dkdv.br),
        },
        {
          file: tiledFile(t.dq, 'dq'), entry: 'main', bindings: ['params', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'dq'],
          tiles: t.dq, items: p.bh * cdiv(p.nq, t.dq.br),
        },
      ];
  }
}

export function stagePlan(p: Problem, variant: WgslVariant, stage: KernelStage, tiles: TiledConfigs | null): Dispatch[] {
  if (variant === 'naive') return naive(p, stage);
  if (!tiles) throw new Error('tiled plan without tile configs');
  return tiled(p, stage, tiles);
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
