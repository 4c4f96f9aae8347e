/**
 * Tiled version 6: the products on subgroup matrices (Dawn's `chromium-experimental-subgroup-matrix`, WebGPU's
 * tensor-core path), float16 only. What is picked here, at plan time: the matrix configuration (from the adapter's
 * `subgroupMatrixConfigs`, never a hard-coded list), the tile of each kernel, and the WGSL text that carries both
 * into the shaders (`shaders/*_sgmat*.wgsl`): constants, the storage declarations and fetch helpers, the matrix
 * type aliases and, for tests on adapters without the feature, a plain-WGSL emulation of the five builtins used.
 *
 * Semantics relied on (NOTES.md, "Version 6", has the sources): subgroup_matrix_left<T, K, M> is M rows × K columns,
 * subgroup_matrix_right<T, N, K> is K × N, subgroup_matrix_result<T, N, M> is M × N (type parameters: columns, then
 * rows); subgroupMatrixLoad<T, row_major>(&a, off, stride) reads entry [r][c] from a[off + r·stride + c],
 * col_major from a[off + c·stride + r]; stride ≥ columns (row-major) or rows (column-major), in elements; Dawn's
 * robustness turns a load whose last row/column end (off + stride·(major − 1) + minor) passes the array into a zero
 * matrix, so every access here is in bounds by construction; offsets and strides are multiples of 16 bytes.
 */
import type { TiledKernel } from './tiling.js';

/** One entry of `adapter.info.subgroupMatrixConfigs` (GPUSubgroupMatrixConfig). */
export interface MatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** What the device gives version 6: the configuration, the subgroup size, and whether the builtins are emulated. */
export interface MatrixDevice {
  config: MatrixConfig;
  /** invocations per subgroup (the adapter's subgroupMinSize = subgroupMaxSize) */
  subgroupSize: number;
  /** plain-WGSL stand-ins for the builtins (tests on adapters without the feature; never timed) */
  emulated: boolean;
  /** 'template': subgroupMatrixLoad<T, row_major>(p, off, stride) (current); 'flag': the deprecated (p, off, col_major, stride) */
  majorness: Majorness;
}

export type Majorness = 'template' | 'flag';

export const describeConfig = (c: MatrixConfig): string => `${c.componentType} ${c.M}x${c.N}x${c.K} -> ${c.resultComponentType}`;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

/**
 * The configuration version 6 runs: f16 operands into an f32 result (the float16 accuracy rule: sums in f32), M, N
 * and K multiples of 8 (so every offset and stride here is a multiple of 16 bytes) and at most 32; 16×16×16 first,
 * then the largest M·N·K (ties: the larger N). A string (one line) when none fits, naming what the adapter offers.
 */
export function pickMatrixConfig(configs: readonly MatrixConfig[]): MatrixConfig | string {
  const fits = configs.filter(
    (c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && [c.M, c.N, c.K].every((x) => x % 8 === 0 && x <= 32),
  );
  const square = fits.find((c) => c.M === 16 && c.N === 16 && c.K === 16);
  if (square) return square;
  const best = [...fits].sort((a, b) => b.M * b.N * b.K - a.M * a.N * a.K || b.N - a.N)[0];
  if (best) return best;
  const offered = configs.length ? configs.map(describeConfig).join(', ') : 'none';
  return `no subgroup-matrix configuration takes f16 operands into an f32 result with M, N, K multiples of 8 up to 32 (the adapter offers: ${offered})`;
}

/** The configuration the emulation uses (tests): f16 16×16×16 → f32 in virtual subgroups of 32. */
export const EMULATED: Omit<MatrixDevice, 'majorness'> = {
  config: { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 },
  subgroupSize: 32,
  emulated: true,
};

/** head dims version 6 has kernels for (the accumulators of d > 128 would not stay in registers); above: version 5 */
export const SGMAT_MAX_D = 128;

export interface MatrixTileConfig {
  /** discriminates it from the other versions' tiles */
  matrix: true;
  version: number;
  kernel: TiledKernel;
  d: number;
  dv: number;
  device: MatrixDevice;
  /** subgroups per workgroup */
  w: number;
  /** resident rows (queries; keys in dkdv) and streamed rows (keys; queries in dkdv) per workgroup */
  br: number;
  bc: number;
  /** d and dv rounded up to a multiple of lcm(M, N, K): the zero-padded columns of the staged tiles */
  dp: number;
  dvp: number;
  bytes: number;
  /** result matrices each subgroup keeps across the streamed loop (the register budget's measure) */
  accumulators: number;
  /** the shaders index by constants (loops unrolled in the source); false keeps some loops for CPU compiles */
  unroll: boolean;
}

export interface MatrixTileLimits {
  workgroupBytes: number;
  invocations: number;
  device: MatrixDevice;
  unroll?: boolean;
  /** most result matrices a subgroup keeps (default 8: 64 f32 registers per invocation with 16×16 results in 32 lanes) */
  maxAccumulators?: number;
}

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;
const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/** Padding of a staged row: 8 f16 (16 bytes; keeps offsets 16-byte aligned and spreads rows over banks), 4 f32. */
const PAD16 = 8;
const PAD32 = 4;

interface Shape {
  kernel: TiledKernel;
  w: number;
  br: number;
  bc: number;
  dp: number;
  dvp: number;
  c: MatrixConfig;
  sg: number;
}

/** Element counts of the workgroup arrays each kernel declares (must match its shader's var<workgroup> lines). */
export function matrixArrays(s: Shape): Record<string, { type: 'f16' | 'f32'; length: number }> {
  const dps = s.dp + PAD16;
  const dvs = s.dvp + PAD16;
  const threads = s.w * s.sg;
  switch (s.kernel) {
    case 'lse': {
      const parts = lseParts(threads, s.br, s.bc);
      return {
        kv: { type: 'f16', length: Math.max(s.br, s.bc) * dps },
        sf: { type: 'f32', length: Math.max(s.br * (s.bc + PAD32), 2 * s.br * parts) },
      };
    }
    case 'forward':
      return {
        kv: { type: 'f16', length: Math.max(s.br * dps, s.bc * (dps + dvs)) },
        sf: { type: 'f32', length: s.br * (s.bc + PAD32) },
        pf: { type: 'f16', length: s.br * (s.bc + PAD16) },
        rs: { type: 'f32', length: 2 * s.br },
      };
    case 'dq':
      return {
        res: { type: 'f16', length: s.br * (dps + dvs) },
        kv: { type: 'f16', length: s.bc * (dps + dvs) },
        sf: { type: 'f32', length: s.br * (s.bc + PAD32) },
        pf: { type: 'f16', length: s.br * (s.bc + PAD16) },
        rs: { type: 'f32', length: 3 * s.br },
      };
    case 'dkdv':
      return {
        res: { type: 'f16', length: s.br * (dps + dvs) },
        st: { type: 'f16', length: s.bc * (dps + dvs) },
        sf: { type: 'f32', length: s.bc * (s.br + PAD32) },
        pf: { type: 'f16', length: s.bc * (s.br + PAD16) },
        rs: { type: 'f32', length: 3 * s.bc },
      };
  }
}

/** Bytes of workgroup memory a shape declares. */
export function matrixBytes(s: Shape): number {
  return Object.values(matrixArrays(s)).reduce((sum, a) => sum + (a.type === 'f16' ? 2 : 4) * a.length, 0);
}

/** lse: invocations per query row (each a contiguous 1/PARTS of the key tile), at least 1. */
function lseParts(threads: number, br: number, bc: number): number {
  let parts = Math.max(1, Math.floor(threads / br));
  while (parts > 1 && bc % parts !== 0) parts--;
  return parts;
}

/**
 * Result-matrix columns per pass of the epilogue, which stores the accumulators (BR rows) through sf with row stride
 * OCN·N + 4; 0 when sf cannot hold even one column of blocks (such a tile is not picked).
 */
function epilogueColumns(s: Shape): number {
  const sf = matrixArrays(s).sf!.length;
  return Math.min(Math.max(s.dp, s.dvp) / s.c.N, Math.floor((sf / s.br - PAD32) / s.c.N));
}

/** Result matrices a subgroup keeps across the streamed loop. */
function accumulatorsOf(s: Shape): number {
  const { M, N } = s.c;
  switch (s.kernel) {
    case 'lse':
      return 0;
    case 'forward':
      return s.dvp / N;
    case 'dq':
      return cdiv((s.br / M) * (s.dp / N), s.w);
    case 'dkdv':
      return cdiv((s.br / M) * (s.dp / N), s.w) + cdiv((s.br / M) * (s.dvp / N), s.w);
  }
}

const SIDES = [64, 32, 16, 8];

/**
 * The tile of a version-6 kernel: W subgroups (4, else 2), resident and streamed rows multiples of lcm(M, N, K); the
 * largest BR·BC whose workgroup arrays fit and whose accumulators stay within the budget; forward and lse give each
 * subgroup one row block (BR = W·M). Null when d or dv exceed SGMAT_MAX_D or nothing fits.
 */
export function pickMatrixTiles(kernel: TiledKernel, d: number, dv: number, limits: MatrixTileLimits, version = 6): MatrixTileConfig | null {
  if (d > SGMAT_MAX_D || dv > SGMAT_MAX_D) return null;
  const { config: c, subgroupSize: sg } = limits.device;
  const l = lcm(lcm(c.M, c.N), c.K);
  const dp = roundUp(d, l);
  const dvp = roundUp(dv, l);
  const budget = limits.maxAccumulators ?? 8;
  const candidates: MatrixTileConfig[] = [];
  for (const w of [4, 2]) {
    if (w * sg > limits.invocations) continue;
    const rows = kernel === 'lse' || kernel === 'forward' ? [w * c.M] : SIDES;
    for (const br of rows) for (const bc of SIDES) {
      if (br % l !== 0 || bc % l !== 0) continue;
      // the S tile of a subgroup row block: at most 4 result matrices live at once
      if ((kernel === 'lse' || kernel === 'forward') && bc / c.N > 4) continue;
      const shape: Shape = { kernel, w, br, bc, dp, dvp, c, sg };
      const bytes = matrixBytes(shape);
      const accumulators = accumulatorsOf(shape);
      if (bytes > limits.workgroupBytes || accumulators > budget || (kernel !== 'lse' && epilogueColumns(shape) < 1)) continue;
      candidates.push({ matrix: true, version, kernel, d, dv, device: limits.device, w, br, bc, dp, dvp, bytes, accumulators, unroll: limits.unroll ?? true });
    }
  }
  candidates.sort((a, b) => b.w - a.w || b.br * b.bc - a.br * a.bc || b.br - a.br);
  return candidates[0] ?? null;
}

export function matrixTileKey(t: MatrixTileConfig): string {
  const dev = t.device;
  const mode = dev.emulated ? ':emulated' : dev.majorness === 'flag' ? ':flag' : '';
  return `v${t.version}:${t.kernel}:d${t.d}:dv${t.dv}:w${t.w}:br${t.br}:bc${t.bc}:${dev.config.M}x${dev.config.N}x${dev.config.K}:sg${dev.subgroupSize}${mode}${t.unroll ? ':unrolled' : ''}`;
}

/** '64x64 tile, 4 subgroups, f16 16x16x16 -> f32' (Session.kernels); ', emulated' when the builtins are. */
export function describeMatrixTile(t: MatrixTileConfig): string {
  return `${t.br}x${t.bc} tile, ${t.w} subgroups of ${t.device.subgroupSize}, ${describeConfig(t.device.config)}${t.device.emulated ? ', emulated' : ''}`;
}

/** The storage bindings each kernel declares: binding, name as in the shader, f16 tensor or f32 buffer, access. */
const STORAGE: Readonly<Record<TiledKernel, readonly [number, string, 'half' | 'f32', 'read' | 'read_write', 'd' | 'dv' | null][]>> = {
  lse: [[1, 'q', 'half', 'read', 'd'], [2, 'k', 'half', 'read', 'd'], [5, 'lse', 'f32', 'read_write', null]],
  forward: [[1, 'q', 'half', 'read', 'd'], [2, 'k', 'half', 'read', 'd'], [3, 'v', 'half', 'read', 'dv'], [5, 'lse', 'f32', 'read', null], [6, 'o', 'half', 'read_write', null]],
  dq: [
    [1, 'q', 'half', 'read', 'd'], [2, 'k', 'half', 'read', 'd'], [3, 'v', 'half', 'read', 'dv'], [4, 'dout', 'half', 'read', 'dv'],
    [5, 'lse', 'f32', 'read', null], [7, 'dq', 'half', 'read_write', null], [10, 'delta', 'f32', 'read', null],
  ],
  dkdv: [
    [1, 'q', 'half', 'read', 'd'], [2, 'k', 'half', 'read', 'd'], [3, 'v', 'half', 'read', 'dv'], [4, 'dout', 'half', 'read', 'dv'],
    [5, 'lse', 'f32', 'read', null], [8, 'dk', 'half', 'read_write', null], [9, 'dv', 'half', 'read_write', null], [10, 'delta', 'f32', 'read', null],
  ],
};

/**
 * The directives a version-6 shader opens with: f16, and for the real builtins the subgroup-matrix extension,
 * subgroups (for subgroup_id) and the uniformity diagnostic off (subgroup_id is uniform per subgroup, which WGSL's
 * workgroup-level analysis cannot see).
 */
export function matrixDirectives(t: MatrixTileConfig): string {
  if (t.device.emulated) return 'enable f16;\n';
  return 'diagnostic(off, chromium.subgroup_matrix_uniformity);\nenable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\n';
}

/** The generated prefix of a version-6 shader: constants, matrix types, storage declarations, fetch helpers. */
export function matrixConstants(t: MatrixTileConfig): string {
  const { M, N, K } = t.device.config;
  const sg = t.device.subgroupSize;
  const threads = t.w * sg;
  const dps = t.dp + PAD16;
  const dvs = t.dvp + PAD16;
  const shape: Shape = { kernel: t.kernel, w: t.w, br: t.br, bc: t.bc, dp: t.dp, dvp: t.dvp, c: t.device.config, sg };
  const arrays = matrixArrays(shape);
  const parts = lseParts(threads, t.br, t.bc);
  // the accumulators' columns per pass of the epilogue through sf (rows: BR; the picker keeps it ≥ 1 but for lse)
  const ocn = Math.max(1, epilogueColumns(shape));
  const vq = t.d % 4 === 0 ? 4 : 1;
  const vv = t.dv % 4 === 0 ? 4 : 1;
  const u32s: [string, number][] = [
    ['SM_M', M], ['SM_N', N], ['SM_K', K], ['SG', sg], ['W', t.w], ['THREADS', threads], ['BR', t.br], ['BC', t.bc],
    ['D', t.d], ['DV', t.dv], ['DP', t.dp], ['DVP', t.dvp], ['DPS', dps], ['DVS', dvs],
    ['BCS', t.bc + PAD32], ['BCP', t.bc + PAD16], ['BRS', t.br + PAD32], ['BRP', t.br + PAD16],
    ['DKS', t.dp / K], ['DVKS', t.dvp / K], ['DNS', t.dp / N], ['DVNS', t.dvp / N],
    ['BRM', t.br / M], ['BCM', t.bc / M], ['BRN', t.br / N], ['BCN', t.bc / N], ['BRK', t.br / K], ['BCK', t.bc / K],
    ['VQ', vq], ['VV', vv], ['PARTS', parts], ['CW', t.bc / parts], ['RPI', cdiv(t.br * parts, threads)],
    ['OCN', ocn], ['ECS', ocn * N + PAD32], ['OCHD', cdiv(t.dp / N, ocn)], ['OCHV', cdiv(t.dvp / N, ocn)],
    ['EPL', Math.max(1, (M * N) / sg)],
    // blocks per subgroup (block w + W·u): S and dP blocks, the dQ, dK, dV accumulators
    ['SB', t.kernel === 'dkdv' ? cdiv((t.bc / M) * (t.br / N), t.w) : cdiv((t.br / M) * (t.bc / N), t.w)],
    ['AQ', cdiv((t.br / M) * (t.dp / N), t.w)], ['AK', cdiv((t.br / M) * (t.dp / N), t.w)], ['AV', cdiv((t.br / M) * (t.dvp / N), t.w)],
    ...Object.entries(arrays).map(([name, a]): [string, number] => [`${name.toUpperCase()}_LEN`, a.length]),
  ];
  const lines = u32s.map(([name, value]) => `const ${name}: u32 = ${value}u;`);
  if (t.device.emulated) {
    lines.push(
      '// subgroup matrices emulated in plain WGSL (tests): left/right whole in each invocation, result entries',
      '// lane·EPL … lane·EPL + EPL − 1 (row-major) in lane lane of a virtual subgroup of SG invocations',
      'struct SmLeft { v: array<f32, SM_M * SM_K> }',
      'struct SmRight { v: array<f32, SM_K * SM_N> }',
      'struct SmResult { v: array<f32, EPL> }',
      'var<private> emu_lane: u32;',
    );
  } else {
    lines.push(
      `alias SmLeft = subgroup_matrix_left<f16, ${K}, ${M}>;`,
      `alias SmRight = subgroup_matrix_right<f16, ${N}, ${K}>;`,
      `alias SmResult = subgroup_matrix_result<f32, ${N}, ${M}>;`,
    );
  }
  for (const [binding, name, kind, access, width] of STORAGE[t.kernel]) {
    const vec = width !== null && access === 'read' && (width === 'd' ? vq : vv) === 4;
    const element = kind === 'f32' ? 'f32' : vec ? 'vec4<f16>' : 'f16';
    lines.push(`@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${element}>;`);
    if (width !== null && access === 'read') {
      // element i (a multiple of VQ or VV) and, with vec4 storage, the next three, as a vec4 (zeros past the first when scalar)
      lines.push(
        vec
          ? `fn fetch_${name}(i: u32) -> vec4<f16> { return ${name}[i / 4u]; }`
          : `fn fetch_${name}(i: u32) -> vec4<f16> { return vec4<f16>(${name}[i], 0.0h, 0.0h, 0.0h); }`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** Replacements of the markers a version-6 shader leaves for the subgroup index and lane. */
export function matrixMarkers(code: string, t: MatrixTileConfig): string {
  const emulated = t.device.emulated;
  return code
    .replace('/*@sg-param*/', emulated ? '' : ', @builtin(subgroup_id) sg_id: u32')
    .replace('/*@sg-id*/', emulated ? 't / SG' : 'sg_id')
    .replace('/*@sg-lane*/', emulated ? 'emu_lane = t % SG;' : '');
}

const LOAD = /subgroupMatrixLoad<(SmLeft|SmRight), (row_major|col_major)>\(&(\w+), /g;
const STORE = /subgroupMatrixStore<(row_major|col_major)>\(&(\w+), /g;

/**
 * The builtins in the deprecated form this Dawn still takes (majorness as a bool argument):
 * subgroupMatrixLoad<T>(&a, off, col_major, stride) and subgroupMatrixStore(&a, off, value, col_major, stride).
 * The shaders write each call on one line with the stride a bare constant, so the last argument is `, NAME)`.
 */
export function flagMajorness(code: string): string {
  const call = /subgroupMatrix(Load|Store)<(?:(SmLeft|SmRight), )?(row_major|col_major)>\((.*), (\w+)\)/g;
  return code.replace(call, (_all, op: string, type: string | undefined, major: string, args: string, stride: string) => {
    const flag = major === 'col_major' ? 'true' : 'false';
    return op === 'Load' ? `subgroupMatrixLoad<${type}>(${args}, ${flag}, ${stride})` : `subgroupMatrixStore(${args}, ${flag}, ${stride})`;
  });
}

/**
 * The emulated form of a version-6 shader body: each builtin call becomes a call of a generated plain-WGSL function
 * per (operation, majorness, workgroup array). An access that would pass its array's end (Dawn's robustness test,
 * which turns it into a zero matrix on the GPU) or an offset or stride that is not 16-byte aligned yields NaN (−inf·0 from params: WGSL has no NaN constant), so a
 * test on the emulation fails where the real builtins would misbehave.
 */
export function emulateMatrices(code: string): string {
  const lengths = new Map<string, string>();
  for (const m of code.matchAll(/var<workgroup> (\w+): array<(?:f16|f32), ([^>]+)>;/g)) lengths.set(m[1]!, m[2]!);
  const fns = new Map<string, string>();
  const length = (name: string): string => {
    const len = lengths.get(name);
    if (len === undefined) throw new Error(`subgroup-matrix emulation: '${name}' is not a workgroup array of the shader`);
    return len;
  };
  let out = code.replace(LOAD, (_all, type: 'SmLeft' | 'SmRight', major: string, name: string) => {
    const fn = `emu_load_${type === 'SmLeft' ? 'left' : 'right'}_${major === 'row_major' ? 'row' : 'col'}_${name}`;
    if (!fns.has(fn)) {
      const [rows, cols] = type === 'SmLeft' ? ['SM_M', 'SM_K'] : ['SM_K', 'SM_N'];
      const [major0, minor] = major === 'row_major' ? [rows, cols] : [cols, rows];
      const at = major === 'row_major' ? 'off + r * stride + c' : 'off + c * stride + r';
      fns.set(
        fn,
        `fn ${fn}(off: u32, stride: u32) -> ${type} {
  var m: ${type};
  let ok = off + stride * (${major0} - 1u) + ${minor} <= ${length(name)} && off % 8u == 0u && stride % 8u == 0u && stride >= ${minor};
  for (var r = 0u; r < ${rows}; r++) {
    for (var c = 0u; c < ${cols}; c++) { m.v[r * ${cols} + c] = select(params.neg_inf * 0.0, f32(${name}[min(${at}, ${length(name)} - 1u)]), ok); }
  }
  return m;
}`,
      );
    }
    return `${fn}(`;
  });
  out = out.replace(STORE, (_all, major: string, name: string) => {
    const fn = `emu_store_${major === 'row_major' ? 'row' : 'col'}_${name}`;
    if (!fns.has(fn)) {
      const [major0, minor] = major === 'row_major' ? ['SM_M', 'SM_N'] : ['SM_N', 'SM_M'];
      const at = major === 'row_major' ? 'off + r * stride + c' : 'off + c * stride + r';
      fns.set(
        fn,
        `fn ${fn}(off: u32, m: SmResult, stride: u32) {
  let ok = off + stride * (${major0} - 1u) + ${minor} <= ${length(name)} && off % 4u == 0u && stride % 4u == 0u && stride >= ${minor};
  for (var u = 0u; u < EPL; u++) {
    let e = emu_lane * EPL + u;
    let r = e / SM_N;
    let c = e % SM_N;
    ${name}[min(${at}, ${length(name)} - 1u)] = select(params.neg_inf * 0.0, m.v[u], ok);
  }
}`,
      );
    }
    return `${fn}(`;
  });
  out = out.replace(/subgroupMatrixMultiplyAccumulate\(/g, 'emu_mma(');
  const mma = `fn emu_mma(a: SmLeft, b: SmRight, acc: SmResult) -> SmResult {
  var out = acc;
  for (var u = 0u; u < EPL; u++) {
    let e = emu_lane * EPL + u;
    let r = e / SM_N;
    let c = e % SM_N;
    var s = out.v[u];
    for (var k = 0u; k < SM_K; k++) { s = fma(a.v[r * SM_K + k], b.v[k * SM_N + c], s); }
    out.v[u] = s;
  }
  return out;
}`;
  return `${out}\n// ---- subgroup-matrix emulation (tests)\n${[...fns.values(), mma].join('\n')}\n`;
}
