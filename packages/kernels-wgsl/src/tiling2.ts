/**
 * Tile shapes of the tiled kernels, version 2 (shaders/*_tiled2*.wgsl): register tiles of RM × RN = 4 × 4 (or 8 × 4)
 * per invocation, read from workgroup memory as vec4, and workgroup memory that does not grow with d:
 *  - scores (and dP) by a GEMM over d in chunks of EC: the resident side's chunk Aᵀ [EC][BR + 4] and the streamed
 *    side's chunk Bᵀ [EC][BC + 4], both transposed so an invocation's RM rows / RN keys are contiguous (vec4 loads);
 *    row stride ≡ 4 (mod 32 floats) makes the transposing stores bank-conflict free (see the shaders' load loops);
 *  - P or dS tiles transposed [BC][BR + 4], read as vec4 over the invocation's RM rows;
 *  - the right-hand side of P·V, dS·K, Pᵀ·dO, dSᵀ·Q streamed in chunks of JC rows, row-major [JC][DP or DVP], with
 *    DP = d rounded up to 4·TX, so each invocation owns CD = DP/TX (CV = DVP/TX) contiguous output columns;
 *  - the GEMM chunks and these chunks share one buffer `sh` (never live at once).
 * Version 1 (src/tiling.ts) kept the whole resident side in workgroup memory, which left d = 128 with 16 × 16 tiles
 * and 1 × 1 register tiles.
 */
import type { TiledKernel, TileLimits } from './tiling.js';

export interface Tile2Limits extends TileLimits {
  /** rows per invocation, RM: 4 (default) or 8; 8 falls back to 4 where it would pass maxRegisterFloats */
  rows?: number;
  /** budget for registerFloats2 (default 128); ignored when no tile meets it (d = 256) */
  maxRegisterFloats?: number;
  /** streamed entries (keys, or queries for dK/dV) per invocation, RN: 4 or 8 (default 4; the caller passes its version's lseCols) */
  cols?: number;
  /** most invocations per workgroup the picker may use (below the adapter's limit) */
  maxThreads?: number;
  /** which version the tile is for (Tile2Config.version, src/versions.ts); default 2 */
  version?: number;
  /** the version skips per-score masks in interior tiles (Tile2Config.fastInterior); default false */
  fastInterior?: boolean;
}

export interface Tile2Config {
  /** the row of src/versions.ts the tile is for (2 to 5: one set of shaders or another, compiled one way or another) */
  version: number;
  /** FAST_INTERIOR: no per-score masks in tiles that need none (version 5) */
  fastInterior: boolean;
  kernel: TiledKernel;
  d: number;
  dv: number;
  br: number;
  bc: number;
  tx: number;
  ty: number;
  rm: number;
  rn: number;
  /** d (or dv) columns per GEMM chunk (a multiple of 8) */
  ec: number;
  /** rows of the right-hand side per chunk of the accumulate step (divides bc) */
  jc: number;
  bytes: number;
  unroll: boolean;
}

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

type Shape = Pick<Tile2Config, 'd' | 'dv' | 'br' | 'bc' | 'tx' | 'ec' | 'jc'>;

/**
 * Floats of the buffer `sh` that holds the GEMM chunks (Aᵀ then Bᵀ) and, at other times, the accumulate step's
 * chunks (V; K; Q then dO): never live at once, so they share it.
 */
export function sharedFloats2(kernel: TiledKernel, c: Shape): number {
  const gemm = c.ec * (c.br + 4 + c.bc + 4);
  const dp = roundUp(c.d, 4 * c.tx);
  const dvp = roundUp(c.dv, 4 * c.tx);
  const chunk = { lse: 0, forward: c.jc * dvp, dq: c.jc * dp, dkdv: c.jc * (dp + dvp) }[kernel];
  return Math.max(gemm, chunk);
}

/** Floats of workgroup memory each kernel declares (must match the var<workgroup> lines of its shader). */
export function workgroupFloats2(kernel: TiledKernel, c: Shape): number {
  const brp = c.br + 4;
  const own = { lse: 2 * c.br * c.tx, forward: c.bc * brp, dq: c.bc * brp, dkdv: 2 * c.bc * brp }[kernel];
  return sharedFloats2(kernel, c) + own;
}

/**
 * Floats an invocation keeps live across its inner loops (output accumulators, one RM × RN score or dP block,
 * per-row lse/D): a proxy for register pressure. At 256 invocations, more than ~128 registers each leaves one
 * workgroup per SM (64 K registers), too few warps to hide the chunk loads; well past that, the driver spills.
 */
export function registerFloats2(kernel: TiledKernel, c: Pick<Tile2Config, 'd' | 'dv' | 'tx' | 'rm' | 'rn'>): number {
  const cd = roundUp(c.d, 4 * c.tx) / c.tx;
  const cv = roundUp(c.dv, 4 * c.tx) / c.tx;
  const block = c.rm * c.rn;
  return { lse: block + 2 * c.rm, forward: c.rm * cv + block + c.rm, dq: c.rm * cd + block + 2 * c.rm, dkdv: c.rm * (cd + cv) + block + 2 * c.rn }[kernel];
}

const SIDES = [16, 8, 4, 2, 1];

/**
 * The largest tile (BR·BC, then invocations, then EC, then JC: fewer chunks, fewer barriers) that fits the adapter's workgroup memory and
 * invocation limit; null when none does.
 */
export function pickTiles2(kernel: TiledKernel, d: number, dv: number, limits: Tile2Limits): Tile2Config | null {
  const rn = limits.cols ?? 4;
  const maxSide = limits.maxSide ?? 16;
  const invocations = Math.min(limits.invocations, limits.maxThreads ?? Infinity);
  const candidates: Tile2Config[] = [];
  for (const rm of [...new Set([limits.rows ?? 4, 4])]) for (const tx of SIDES) {
    for (const ty of SIDES) {
      if (tx > maxSide || ty > maxSide || tx * ty > invocations) continue;
      if (tx > 2 * ty || ty > 2 * tx) continue;
      const br = ty * rm;
      const bc = tx * rn;
      for (const ec of [32, 16, 8]) {
        // a chunk wider than d (rounded to 8) would only multiply zeros
        if (ec > 8 && ec > roundUp(Math.max(d, dv), 8)) continue;
        for (const jc of [bc, 32, 16, 8, 4]) {
          if (jc > bc || bc % jc !== 0) continue;
          const shape = { d, dv, br, bc, tx, ec, jc };
          const bytes = 4 * workgroupFloats2(kernel, shape);
          if (bytes <= limits.workgroupBytes) {
            candidates.push({
              version: limits.version ?? 2, fastInterior: limits.fastInterior ?? false, kernel, ...shape, ty, rm, rn, bytes, unroll: limits.unroll ?? true,
            });
          }
        }
      }
    }
  }
  const budget = limits.maxRegisterFloats ?? 128;
  const within = candidates.filter((c) => registerFloats2(kernel, c) <= budget);
  const pool = within.length > 0 ? within : candidates;
  pool.sort((a, b) => b.br * b.bc - a.br * a.bc || b.tx * b.ty - a.tx * a.ty || b.br - a.br || b.ec - a.ec || b.jc - a.jc);
  return pool[0] ?? null;
}

export function tileKey2(c: Tile2Config): string {
  return `v${c.version}:${c.kernel}:d${c.d}:dv${c.dv}:br${c.br}:bc${c.bc}:tx${c.tx}:ty${c.ty}:ec${c.ec}:jc${c.jc}${c.unroll ? ':unrolled' : ''}`;
}

/** WGSL constants the version-2 shaders are written against. */
export function tileConstants2(c: Tile2Config): string {
  const dp = roundUp(c.d, 4 * c.tx);
  const dvp = roundUp(c.dv, 4 * c.tx);
  const constants: [string, number][] = [
    ['D', c.d],
    ['DV', c.dv],
    ['BR', c.br],
    ['BC', c.bc],
    ['TX', c.tx],
    ['TY', c.ty],
    ['RM', c.rm],
    ['RN', c.rn],
    ['RM4', c.rm / 4],
    ['RN4', c.rn / 4],
    ['EC', c.ec],
    ['JC', c.jc],
    ['BRP', c.br + 4],
    ['BCP', c.bc + 4],
    ['DP', dp],
    ['DVP', dvp],
    ['CD4', dp / c.tx / 4],
    ['CV4', dvp / c.tx / 4],
    ['THREADS', c.tx * c.ty],
    ['SH4', sharedFloats2(c.kernel, c) / 4],
    ['BT4', (c.ec * (c.br + 4)) / 4],
    ['OC4', (c.jc * dp) / 4],
    // kernel 4: vec4 slots per invocation of a chunk (Aᵀ [EC][BR], Bᵀ [EC][BC], [JC][DVP], [JC][DP])
    ['CHA4', Math.ceil((c.br * c.ec) / 4 / (c.tx * c.ty))],
    ['CHB4', Math.ceil((c.bc * c.ec) / 4 / (c.tx * c.ty))],
    ['CHV4', Math.ceil((c.jc * dvp) / 4 / (c.tx * c.ty))],
    ['CHD4', Math.ceil((c.jc * dp) / 4 / (c.tx * c.ty))],
  ];
  // Not unrolled (CPU adapters, where unrolling only makes compiles slow): the chunk loops get bounds the compiler
  // cannot fold (min(EC, nq + EC) is EC for every nq ≥ 1 that does not wrap), so LLVM keeps them as loops.
  const flags = [`const FAST_INTERIOR: bool = ${c.fastInterior};`];
  const bounds = c.unroll
    ? ['fn d_steps() -> u32 { return D; }', 'fn dv_steps() -> u32 { return DV; }', 'fn ec_steps() -> u32 { return EC; }', 'fn jc_steps() -> u32 { return JC; }']
    : [
        'fn d_steps() -> u32 { return params.d; }',
        'fn dv_steps() -> u32 { return params.dv; }',
        'fn ec_steps() -> u32 { return min(EC, params.nq + EC); }',
        'fn jc_steps() -> u32 { return min(JC, params.nq + JC); }',
      ];
  return [...constants.map(([name, value]) => `const ${name}: u32 = ${value}u;`), ...flags, ...bounds].join('\n') + '\n';
}
