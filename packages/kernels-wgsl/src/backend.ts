/** The WGSL backend: Backend contract over one Dawn device per process (src/dawn.ts). */
import type { Backend, BackendInfo, Limits, Problem, Session, Variant } from '@attn/reference';
import { BackendError, describeProblem } from '@attn/reference';
import { BufferPool, STORAGE_USAGE } from './buffers.js';
import type { GpuContext } from './dawn.js';
import { gpuContext, releaseGpu, robustnessOff } from './dawn.js';
import { scoped } from './errors.js';
import type { AnyTileConfig, BufferName, TiledLimits, TiledVersion, WgslVariant } from './plan.js';
import { bufferElements, gridFor, scratchElements, stagePlan, tiledConfigs } from './plan.js';
import { WgslSession } from './session.js';
import { TILED_MAX_D } from './tiling.js';
import { VERSION } from './version.js';

/**
 * Tuning knobs for trying tile shapes without code changes; each also reads an env variable (the option wins):
 * ATTN_WGSL_KERNEL (1 to 5), ATTN_WGSL_ROWS (4 or 8), ATTN_WGSL_COLS (4 or 8), ATTN_WGSL_THREADS, ATTN_WGSL_REGISTER_BUDGET, ATTN_WGSL_ROBUSTNESS (on or off, read by src/dawn.ts), ATTN_WGSL_WORKGROUP_BYTES, ATTN_WGSL_TILE_SIDE, ATTN_WGSL_UNROLL (1 or 0).
 */
export interface WgslBackendOptions {
  /**
   * tiled kernels (NOTES.md): 5 (default: vec4 chunks fetched one ahead, GEMM loops unrolled in the source, mask-free
   * interior tiles), 4, 3 (kernel 2 with register loops unrolled), 2 (register tiles read as vec4), 1
   */
  kernel?: TiledVersion;
  /** query (or key) rows per invocation in tiled kernels 2–5: 4 or 8 (default: 8 on GPUs, 4 on CPU adapters) */
  rowsPerInvocation?: number;
  /** cap on the workgroup memory the tile picker may use, below the adapter's (to try smaller adapters' shapes) */
  maxWorkgroupBytes?: number;
  /** streamed entries per invocation in tiled kernels 2–5: 4 or 8 (ATTN_WGSL_COLS; default 4, kernel 5's lse 8) */
  colsPerInvocation?: number;
  /** cap on invocations per tiled workgroup (ATTN_WGSL_THREADS) */
  maxThreads?: number;
  /** register budget of the tile picker, in live floats per invocation (ATTN_WGSL_REGISTER_BUDGET; default 128) */
  registerBudget?: number;
  /** largest invocations per side of a tiled workgroup (default: 16 on a GPU, 8 on a CPU adapter; NOTES.md) */
  maxTileSide?: number;
  /** constant loop bounds in the tiled shaders; default: yes on a GPU, no on a CPU adapter (slow compiles there) */
  unroll?: boolean;
  /** time with the wall clock even where timestamp-query exists (the fallback path, for tests) */
  wallClock?: boolean;
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new BackendError(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

/** WebGPU's default limits: what check() assumes before the adapter is known. */
const DEFAULT_LIMITS = {
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupsPerDimension: 65535,
};
type KnownLimits = typeof DEFAULT_LIMITS;

const VARIANTS: readonly WgslVariant[] = ['naive', 'tiled'];
const TENSORS = ['q', 'k', 'v', 'dO', 'lse', 'o', 'dq', 'dk', 'dv'] as const;

const isTiledVersion = (k: number): k is TiledVersion => [1, 2, 3, 4, 5].includes(k);

function fourOrEight(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && value !== 4 && value !== 8) throw new BackendError(`${name} must be 4 or 8, got ${value}`);
  return value;
}

function isWgslVariant(v: string): v is WgslVariant {
  return (VARIANTS as readonly string[]).includes(v);
}

export function createWgslBackend(options: WgslBackendOptions = {}): Backend {
  let known: KnownLimits = DEFAULT_LIMITS;
  let cpuAdapter = false;
  const maxWorkgroupBytes = options.maxWorkgroupBytes ?? envNumber('ATTN_WGSL_WORKGROUP_BYTES');
  const maxSide = options.maxTileSide ?? envNumber('ATTN_WGSL_TILE_SIDE');
  const kernelChoice: number = options.kernel ?? envNumber('ATTN_WGSL_KERNEL') ?? 5;
  if (!isTiledVersion(kernelChoice)) throw new BackendError(`ATTN_WGSL_KERNEL / kernel must be 1 to 5, got ${kernelChoice}`);
  const kernel = kernelChoice;
  const rowsChoice = fourOrEight('ATTN_WGSL_ROWS / rowsPerInvocation', options.rowsPerInvocation ?? envNumber('ATTN_WGSL_ROWS'));
  const cols = fourOrEight('ATTN_WGSL_COLS / colsPerInvocation', options.colsPerInvocation ?? envNumber('ATTN_WGSL_COLS'));
  const maxThreads = options.maxThreads ?? envNumber('ATTN_WGSL_THREADS');
  const registerBudget = options.registerBudget ?? envNumber('ATTN_WGSL_REGISTER_BUDGET');
  const robust = !robustnessOff();
  const unrollEnv = process.env.ATTN_WGSL_UNROLL;
  const unroll = options.unroll ?? (unrollEnv === '1' ? true : unrollEnv === '0' ? false : undefined);
  const pool = new BufferPool();
  const sessions = new Set<Session>();

  async function context(): Promise<GpuContext | string> {
    const ctx = await gpuContext();
    if (typeof ctx !== 'string') {
      const l = ctx.device.limits;
      known = {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      };
      const a = ctx.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
      cpuAdapter = a.isFallbackAdapter === true || a.architecture === 'software';
    }
    return ctx;
  }

  async function ready(): Promise<GpuContext> {
    const ctx = await context();
    if (typeof ctx === 'string') throw new BackendError(ctx);
    return ctx;
  }

  // 8 rows per invocation measured 1.1–1.5× faster than 4 on the H100 (NOTES.md, kernel 2 outcome); lavapipe keeps 4
  const rows = (): number => rowsChoice ?? (cpuAdapter ? 4 : 8);
  const tileLimits = (): TiledLimits => ({
    version: kernel,
    rows: rows(),
    ...(cols === undefined ? {} : { cols }),
    ...(maxThreads === undefined ? {} : { maxThreads }),
    ...(registerBudget === undefined ? {} : { maxRegisterFloats: registerBudget }),
    workgroupBytes: Math.min(known.maxComputeWorkgroupStorageSize, maxWorkgroupBytes ?? Infinity),
    invocations: known.maxComputeInvocationsPerWorkgroup,
    // 8 × 8 invocations with twice the rows and keys each measured 1.5–2× faster on lavapipe (NOTES.md, tiled v2);
    // on the H100 8 × 8 was 1.7–3.2× slower than 16 × 16 (NOTES.md, kernel 2 outcome)
    maxSide: maxSide ?? (cpuAdapter ? 8 : 16),
    unroll: unroll ?? !cpuAdapter,
  });
  const perBuffer = (): number => Math.min(known.maxStorageBufferBindingSize, known.maxBufferSize);

  function check(problem: Problem, variant: Variant): string | null {
    if (!isWgslVariant(variant)) return `wgsl has no variant '${variant}' (variants: ${VARIANTS.join(', ')})`;
    if (problem.dtype !== 'float32') return `wgsl ${variant} takes float32; ${problem.dtype} kernels are not implemented yet`;
    const allowed = perBuffer();
    if (variant === 'tiled') {
      if (problem.d > TILED_MAX_D || problem.dv > TILED_MAX_D) {
        return `tiled wgsl takes d and dv up to ${TILED_MAX_D}, got d = ${problem.d}, dv = ${problem.dv} (the naive variant takes any d)`;
      }
      const tiles = tiledConfigs(problem, tileLimits());
      if (typeof tiles === 'string') return `tiled wgsl: no ${tiles} tile for d = ${problem.d}, dv = ${problem.dv} fits ${tileLimits().workgroupBytes} bytes of workgroup memory`;
    } else {
      const bytes = 4 * problem.bh * problem.nq * problem.nk;
      if (bytes > allowed) {
        return `naive wgsl needs ${bytes} bytes for each score matrix [bh=${problem.bh}, nq=${problem.nq}, nk=${problem.nk}], adapter allows ${allowed} per buffer`;
      }
    }
    for (const name of TENSORS) {
      const bytes = 4 * bufferElements(problem, name);
      if (bytes > allowed) return `wgsl needs ${bytes} bytes for ${name}, adapter allows ${allowed} per buffer`;
    }
    const tiles = variant === 'tiled' ? tiledConfigs(problem, tileLimits()) : null;
    for (const stage of ['lse', 'forward', 'backward'] as const) {
      for (const d of stagePlan(problem, variant, stage, typeof tiles === 'string' ? null : tiles)) {
        if (!gridFor(d.items, known.maxComputeWorkgroupsPerDimension)) {
          return `wgsl ${variant}: ${d.file} needs ${d.items} workgroups, adapter dispatches at most ${known.maxComputeWorkgroupsPerDimension}² `;
        }
      }
    }
    return null;
  }

  async function open(problem: Problem, variant: Variant): Promise<Session> {
    const ctx = await ready();
    const why = check(problem, variant);
    if (why) throw new BackendError(why);
    const v = variant as WgslVariant;
    const tiles = v === 'tiled' ? tiledConfigs(problem, tileLimits()) : null;
    if (typeof tiles === 'string') throw new BackendError(`tiled wgsl: no ${tiles} tile fits`);
    const elements: [BufferName, number][] = TENSORS.map((n) => [n, bufferElements(problem, n)]);
    for (const [n, e] of Object.entries(scratchElements(problem, v))) elements.push([n as BufferName, e]);
    const what = `wgsl ${v} (${describeProblem(problem)}): allocating buffers`;
    const storage = await pool.take(ctx, elements.map(([, e]) => 4 * Math.max(1, e)), STORAGE_USAGE, what);
    const [params] = await pool.take(ctx, [32], GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, what);
    const buffers = new Map<BufferName, GPUBuffer>(elements.map(([n], i) => [n, storage[i]!]));
    buffers.set('params', params!);
    const header = new ArrayBuffer(32);
    new Uint32Array(header, 0, 6).set([problem.bh, problem.nq, problem.nk, problem.d, problem.dv, problem.causal ? 1 : 0]);
    new Float32Array(header, 24, 2).set([problem.scale, -Infinity]);
    await scoped(ctx, what, () => ctx.device.queue.writeBuffer(params!, 0, header));
    const session = new WgslSession({
      ctx,
      problem,
      variant: v,
      tiles,
      buffers,
      timestamps: ctx.features.timestamps && !options.wallClock,
      release: (list) => {
        sessions.delete(session);
        pool.give(list);
      },
    });
    sessions.add(session);
    return session;
  }

  async function info(): Promise<BackendInfo> {
    const ctx = await ready();
    const a = ctx.adapter.info;
    const limits = ctx.device.limits;
    const tilesFor = (d: number): unknown => {
      const t = tiledConfigs({ bh: 1, nq: 1, nk: 1, d, dv: d, scale: 1, causal: false, dtype: 'float32' }, tileLimits());
      const chunks = (c: AnyTileConfig): string => ('version' in c ? `, EC ${c.ec} JC ${c.jc}` : '');
      return typeof t === 'string'
        ? `no ${t} tile fits`
        : Object.fromEntries(Object.entries(t).map(([k, c]) => [k, `${c.br}x${c.bc} (${c.tx}x${c.ty} invocations, ${c.bytes} B${chunks(c)})`]));
    };
    return {
      backend: 'wgsl',
      version: VERSION,
      device: a.description || a.device || `${a.vendor} ${a.architecture}`.trim() || 'unknown adapter',
      driver: ctx.driver.source === 'lavapipe' ? `lavapipe (${ctx.driver.icd})` : ctx.driver.source === 'user' ? `Vulkan ICD ${ctx.driver.icd}` : 'system Vulkan loader',
      dtype: 'float32',
      timer: ctx.features.timestamps && !options.wallClock ? 'gpu-timer' : 'wall',
      details: {
        vendor: a.vendor,
        architecture: a.architecture,
        isFallbackAdapter: (a as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? null,
        subgroups: ctx.features.subgroups,
        subgroupMinSize: (a as { subgroupMinSize?: number }).subgroupMinSize ?? null,
        subgroupMaxSize: (a as { subgroupMaxSize?: number }).subgroupMaxSize ?? null,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        unrolledLoops: unroll ?? !cpuAdapter,
        // Dawn's bounds clamps on every access (ATTN_WGSL_ROBUSTNESS=off removes them: src/dawn.ts)
        robustness: robust,
        tiledKernel: kernel,
        rowsPerInvocation: kernel >= 2 ? rows() : null,
        colsPerInvocation: kernel >= 2 ? (cols ?? (kernel >= 5 ? 'lse 8, others 4' : 4)) : null,
        tiles: { d64: tilesFor(64), d128: tilesFor(128), d256: tilesFor(256) },
      },
    };
  }

  return {
    name: 'wgsl',
    variants: VARIANTS,
    async availability() {
      const ctx = await context();
      return typeof ctx === 'string' ? ctx : null;
    },
    info,
    limits(variant: Variant): Limits {
      return {
        maxD: variant === 'tiled' ? TILED_MAX_D : Math.floor(known.maxStorageBufferBindingSize / 4),
        causal: true,
        maxBufferBytes: perBuffer(),
      };
    },
    check,
    open,
    async close() {
      for (const s of [...sessions]) await s.dispose();
      pool.destroyAll();
      await releaseGpu();
    },
  };
}
