/**
 * Tile shapes of the tiled kernels, picked per head dims and per adapter limits, and the WGSL constants that carry
 * them into the shader text (src/shader-source.ts). The math lives in the shaders; only shapes live here.
 *
 * Every tiled kernel has a resident tile of BR rows (queries, or keys for dK/dV) and streams the other side in tiles
 * of BC; TX × TY invocations, each owning RM = BR/TY rows and RN = BC/TX streamed entries (register tiling).
 */
export type TiledKernel = 'lse' | 'forward' | 'dq' | 'dkdv';

export const TILED_MAX_D = 256;

export interface TileLimits {
  workgroupBytes: number;
  invocations: number;
  /** largest TX and TY (16 unless tuned) */
  maxSide?: number;
  /** constant loop bounds (see TileConfig.unroll); default true */
  unroll?: boolean;
}

export interface TileConfig {
  kernel: TiledKernel;
  d: number;
  dv: number;
  br: number;
  bc: number;
  tx: number;
  ty: number;
  /** bytes of workgroup memory the kernel declares */
  bytes: number;
  /** loops over d, dv and the streamed tile with constant bounds (unrolled by the driver) instead of runtime ones */
  unroll: boolean;
}

/** Floats of workgroup memory each kernel declares (must match the var<workgroup> lines of its shader). */
export function workgroupFloats(kernel: TiledKernel, d: number, dv: number, br: number, bc: number, tx: number): number {
  const kp = bc + 1;
  switch (kernel) {
    case 'lse':
      return br * d + d * kp + 2 * br * tx;
    case 'forward':
      return br * d + d * kp + bc * dv + br * bc;
    case 'dq':
      return br * (d + dv) + (d + dv) * kp + br * bc;
    case 'dkdv':
      return br * (d + dv) + (d + dv) * kp + 3 * bc + 2 * br * bc;
  }
}

const SIZES = [64, 32, 16, 8, 4, 2, 1];
const MAX_SIDE = 16;

/**
 * The largest tile (BR·BC, then BR) that fits the adapter's workgroup memory, with sides within 2× of each other;
 * null when even 1 × 1 does not fit.
 */
export function pickTiles(kernel: TiledKernel, d: number, dv: number, limits: TileLimits): TileConfig | null {
  const candidates: TileConfig[] = [];
  for (const br of SIZES) {
    for (const bc of SIZES) {
      if (br > 2 * bc || bc > 2 * br) continue;
      const side = limits.maxSide ?? MAX_SIDE;
      let tx = Math.min(bc, side);
      let ty = Math.min(br, side);
      while (tx * ty > limits.invocations && ty > 1) ty /= 2;
      while (tx * ty > limits.invocations && tx > 1) tx /= 2;
      const bytes = 4 * workgroupFloats(kernel, d, dv, br, bc, tx);
      if (bytes <= limits.workgroupBytes) candidates.push({ kernel, d, dv, br, bc, tx, ty, bytes, unroll: limits.unroll ?? true });
    }
  }
  candidates.sort((a, b) => b.br * b.bc - a.br * a.bc || b.br - a.br);
  return candidates[0] ?? null;
}

export function tileKey(c: TileConfig): string {
  return `${c.kernel}:d${c.d}:dv${c.dv}:br${c.br}:bc${c.bc}:tx${c.tx}:ty${c.ty}${c.unroll ? ':unrolled' : ''}`;
}

/** WGSL constants the tiled shaders are written against. */
export function tileConstants(c: TileConfig): string {
  const constants: [string, number][] = [
    ['D', c.d],
    ['DV', c.dv],
    ['BR', c.br],
    ['BC', c.bc],
    ['TX', c.tx],
    ['TY', c.ty],
    ['RM', c.br / c.ty],
    ['RN', c.bc / c.tx],
    ['CD', Math.ceil(c.d / c.tx)],
    ['CV', Math.ceil(c.dv / c.tx)],
    ['THREADS', c.tx * c.ty],
    ['KP', c.bc + 1],
  ];
  const bounds = c.unroll
    ? ['fn d_steps() -> u32 { return D; }', 'fn dv_steps() -> u32 { return DV; }', 'fn tile_steps(left: u32) -> u32 { return BC; }']
    : ['fn d_steps() -> u32 { return params.d; }', 'fn dv_steps() -> u32 { return params.dv; }', 'fn tile_steps(left: u32) -> u32 { return min(BC, left); }'];
  return [...constants.map(([name, value]) => `const ${name}: u32 = ${value}u;`), ...bounds].join('\n') + '\n';
}
