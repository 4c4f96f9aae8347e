/** The WGSL backend: Backend contract over one Dawn device per process and robustness setting (src/dawn.ts). */
import type { Backend, BackendInfo, Limits, Problem, Session, Variant } from '@attn/reference';
import { BackendError, describeProblem, describeVersions, splitVariant, VariantError } from '@attn/reference';
import { BufferPool, STORAGE_USAGE } from './buffers.js';
import type { GpuContext, Robustness } from './dawn.js';
import { dawnOptions, gpuContext, liveContexts, releaseGpu } from './dawn.js';
import { describeStageKernels } from './describe.js';
import { scoped } from './errors.js';
import type { BufferName, TiledLimits, TiledPlan } from './plan.js';
import { bufferElements, gridFor, scratchElements, stagePlan, tiledPlan } from './plan.js';
import { WgslSession } from './session.js';
import type { TiledKernel } from './tiling.js';
import { TILED_MAX_D } from './tiling.js';
import type { TileKnobs, WgslChoice } from './variant-choice.js';
import { parseWgslVariant, WGSL_VARIANTS } from './variant-choice.js';
import { VERSION } from './version.js';
import { WGSL_KNOBS, WGSL_VERSIONS } from './versions.js';

/** Options of the backend itself; what runs is chosen per variant ('tiled@fwd3+rows=4', src/variant-choice.ts). */
export interface WgslBackendOptions {
  /** time with the wall clock even where timestamp-query exists (the fallback path, for tests) */
  wallClock?: boolean;
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

const TENSORS = ['q', 'k', 'v', 'dO', 'lse', 'o', 'dq', 'dk', 'dv'] as const;
const STAGES = ['lse', 'forward', 'backward'] as const;

export function createWgslBackend(options: WgslBackendOptions = {}): Backend {
  let known: KnownLimits = DEFAULT_LIMITS;
  let cpuAdapter = false;
  const pools = new Map<Robustness, BufferPool>();
  const sessions = new Set<Session>();
  const choices = new Map<Variant, WgslChoice | string>();

  async function context(robustness: Robustness = 'on'): Promise<GpuContext | string> {
    const ctx = await gpuContext(robustness);
    if (typeof ctx !== 'string' && robustness === 'on') {
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

  /** The device a variant runs on; the default one first, whose limits check() reads. */
  async function ready(robustness: Robustness = 'on'): Promise<GpuContext> {
    const main = await context();
    if (typeof main === 'string') throw new BackendError(main);
    if (robustness === 'on') return main;
    const off = await context(robustness);
    if (typeof off === 'string') throw new BackendError(`wgsl robust=off: no device without bounds clamps: ${off}`);
    return off;
  }

  function choiceOf(variant: Variant): WgslChoice | string {
    let c = choices.get(variant);
    if (c === undefined) {
      try {
        c = parseWgslVariant(variant);
      } catch (e) {
        if (!(e instanceof VariantError)) throw e;
        c = e.message;
      }
      choices.set(variant, c);
    }
    return c;
  }

  /** The adapter's limits with the variant's knobs; the defaults differ between GPUs and CPU adapters (NOTES.md). */
  const tileLimits = (knobs: TileKnobs): TiledLimits => ({
    // 8 rows per invocation measured 1.1–1.5× faster than 4 on the H100 (NOTES.md, kernel 2 outcome); lavapipe keeps 4
    rows: knobs.rows ?? (cpuAdapter ? 4 : 8),
    ...(knobs.cols === undefined ? {} : { cols: knobs.cols }),
    ...(knobs.threads === undefined ? {} : { maxThreads: knobs.threads }),
    ...(knobs.regs === undefined ? {} : { maxRegisterFloats: knobs.regs }),
    workgroupBytes: Math.min(known.maxComputeWorkgroupStorageSize, knobs.wgmem ?? Infinity),
    invocations: known.maxComputeInvocationsPerWorkgroup,
    // on the H100 8 × 8 was 1.7–3.2× slower than 16 × 16 (NOTES.md, kernel 2 outcome); on lavapipe version 5 runs
    // as fast with 16 × 16 and compiles 3–4× sooner (NOTES.md, "Tile side on CPU adapters")
    maxSide: knobs.side ?? 16,
    // lavapipe compiles unrolled loops slowly and runs them no faster (NOTES.md, tiled v1 loop bounds)
    unroll: knobs.unroll ?? !cpuAdapter,
  });
  const perBuffer = (): number => Math.min(known.maxStorageBufferBindingSize, known.maxBufferSize);

  function plan(problem: Problem, c: WgslChoice): TiledPlan | TiledKernel | null {
    return c.base === 'tiled' ? tiledPlan(problem, c.versions, tileLimits(c.knobs)) : null;
  }

  function check(problem: Problem, variant: Variant): string | null {
    const c = choiceOf(variant);
    if (typeof c === 'string') return c;
    if (problem.dtype !== 'float32') return `wgsl ${variant} takes float32; ${problem.dtype} kernels are not implemented yet`;
    const allowed = perBuffer();
    if (c.base === 'tiled' && (problem.d > TILED_MAX_D || problem.dv > TILED_MAX_D)) {
      return `tiled wgsl takes d and dv up to ${TILED_MAX_D}, got d = ${problem.d}, dv = ${problem.dv} (the naive variant takes any d)`;
    }
    const tiles = plan(problem, c);
    if (c.base === 'tiled') {
      if (typeof tiles === 'string') {
        return `wgsl ${variant}: no ${tiles} tile for d = ${problem.d}, dv = ${problem.dv} fits ${tileLimits(c.knobs).workgroupBytes} bytes of workgroup memory`;
      }
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
    for (const stage of STAGES) {
      for (const d of stagePlan(problem, c.base, stage, typeof tiles === 'string' ? null : tiles)) {
        if (!gridFor(d.items, known.maxComputeWorkgroupsPerDimension)) {
          return `wgsl ${variant}: ${d.file} needs ${d.items} workgroups, adapter dispatches at most ${known.maxComputeWorkgroupsPerDimension}² `;
        }
      }
    }
    return null;
  }

  async function open(problem: Problem, variant: Variant): Promise<Session> {
    const c = choiceOf(variant);
    const ctx = await ready(typeof c === 'string' ? 'on' : c.robustness);
    const why = check(problem, variant);
    if (why || typeof c === 'string') throw new BackendError(why ?? String(c));
    const tiles = plan(problem, c);
    if (typeof tiles === 'string') throw new BackendError(`wgsl ${variant}: no ${tiles} tile fits`);
    let pool = pools.get(c.robustness);
    if (!pool) pools.set(c.robustness, (pool = new BufferPool()));
    const elements: [BufferName, number][] = TENSORS.map((n) => [n, bufferElements(problem, n)]);
    for (const [n, e] of Object.entries(scratchElements(problem, c.base))) elements.push([n as BufferName, e]);
    const what = `wgsl ${variant} (${describeProblem(problem)}): allocating buffers`;
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
      variant,
      base: c.base,
      plan: tiles,
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
    const defaults = parseWgslVariant('tiled');
    const tilesFor = (d: number): unknown => {
      const t = plan({ bh: 1, nq: 1, nk: 1, d, dv: d, scale: 1, causal: false, dtype: 'float32' }, defaults);
      return typeof t === 'string' || t === null ? `no ${t} tile fits` : Object.fromEntries(STAGES.map((s) => [s, describeStageKernels(t[s], 'on')]));
    };
    const open = new Set((await liveContexts()).map((c) => c.robustness));
    const device = (r: Robustness): unknown => ({ dawnOptions: dawnOptions(r), open: open.has(r) });
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
        // Dawn's toggles per device: robust=on (every default run) keeps the bounds clamps; robust=off variants run on
        // a second device without them (src/dawn.ts)
        devices: { 'robust=on': device('on'), 'robust=off': device('off') },
        versions: describeVersions('wgsl', WGSL_VERSIONS, WGSL_KNOBS),
        // what a plain 'tiled' picks on this adapter (Session.kernels records it per problem)
        defaults: { rows: tileLimits({}).rows, side: tileLimits({}).maxSide, unroll: tileLimits({}).unroll ? 1 : 0 },
        tiles: { d64: tilesFor(64), d128: tilesFor(128), d256: tilesFor(256) },
      },
    };
  }

  return {
    name: 'wgsl',
    variants: WGSL_VARIANTS,
    kernelVersions: WGSL_VERSIONS,
    knobs: WGSL_KNOBS,
    async availability() {
      const ctx = await context();
      return typeof ctx === 'string' ? ctx : null;
    },
    info,
    limits(variant: Variant): Limits {
      return {
        maxD: splitVariant(variant).base === 'tiled' ? TILED_MAX_D : Math.floor(known.maxStorageBufferBindingSize / 4),
        causal: true,
        maxBufferBytes: perBuffer(),
      };
    },
    check,
    open,
    async close() {
      for (const s of [...sessions]) await s.dispose();
      for (const pool of pools.values()) pool.destroyAll();
      pools.clear();
      await releaseGpu();
    },
  };
}
