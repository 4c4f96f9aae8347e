/**
 * Which dispatches make each stage of each variant: shader file, entry point, buffers bound, tile config and how
 * many workgroup items (flattened over a 2-D grid by gridFor). Binding numbers are shared by all shaders.
 */
import type { KernelStage, Problem } from '@attn/reference';
import type { TileConfig, TileLimits, TiledKernel } from './tiling.js';
import { pickTiles } from './tiling.js';

export type BufferName = 'params' | 'q' | 'k' | 'v' | 'dO' | 'lse' | 'o' | 'dq' | 'dk' | 'dv' | 'delta' | 's' | 'ds';
export const BINDING: Readonly<Record<BufferName, number>> = {
  params: 0, q: 1, k: 2, v: 3, dO: 4, lse: 5, o: 6, dq: 7, dk: 8, dv: 9, delta: 10, s: 11, ds: 12,
};

export type WgslVariant = 'naive' | 'tiled';

export interface Dispatch {
  file: string;
  entry: string;
  bindings: readonly BufferName[];
  /** null for the naive shaders (no generated constants) */
  tiles: TileConfig | null;
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

/** Tile configs of every tiled kernel for these head dims, or the name of one that does not fit. */
export function tiledConfigs(p: Problem, limits: TileLimits): Record<TiledKernel, TileConfig> | TiledKernel {
  const out: Partial<Record<TiledKernel, TileConfig>> = {};
  for (const kernel of ['lse', 'forward', 'dq', 'dkdv'] as const) {
    const c = pickTiles(kernel, p.d, p.dv, limits);
    if (!c) return kernel;
    out[kernel] = c;
  }
  return out as Record<TiledKernel, TileConfig>;
}

function tiled(p: Problem, stage: KernelStage, t: Record<TiledKernel, TileConfig>): Dispatch[] {
  switch (stage) {
    case 'lse':
      return [{ file: 'lse_tiled.wgsl', entry: 'main', bindings: ['params', 'q', 'k', 'lse'], tiles: t.lse, items: p.bh * cdiv(p.nq, t.lse.br) }];
    case 'forward':
      return [{
        file: 'forward_tiled.wgsl', entry: 'main', bindings: ['params', 'q', 'k', 'v', 'lse', 'o'], tiles: t.forward,
        items: p.bh * cdiv(p.nq, t.forward.br),
      }];
    case 'backward':
      return [
        delta(p),
        {
          file: 'backward_tiled_dkdv.wgsl', entry: 'main', bindings: ['params', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'dk', 'dv'],
          tiles: t.dkdv, items: p.bh * cdiv(p.nk, t.dkdv.br),
        },
        {
          file: 'backward_tiled_dq.wgsl', entry: 'main', bindings: ['params', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'dq'],
          tiles: t.dq, items: p.bh * cdiv(p.nq, t.dq.br),
        },
      ];
  }
}

export function stagePlan(p: Problem, variant: WgslVariant, stage: KernelStage, tiles: Record<TiledKernel, TileConfig> | null): Dispatch[] {
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
