/**
 * The WGSL backend: Backend contract over one Dawn device per process and kind (src/dawn.ts): float32 with the
 * bounds clamps (the default), without them (robust=off), and float16 (shader-f16, Dawn toggles where the adapter needs them).
 */
import type { Backend, BackendInfo, Dtype, Limits, Problem, Session, Variant } from '@attn/reference';
import { BackendError, describeProblem, describeVersions, splitVariant, VariantError } from '@attn/reference';
import { BufferPool, STORAGE_USAGE } from './buffers.js';
import type { AdapterView, DeviceKind, GpuContext, Robustness, Storage } from './dawn.js';
import { adapterName, contextsByKey, dawnOptions, deviceKey, gpuContext, HALF_TOGGLES, releaseGpu, SHADER_F16 } from './dawn.js';
import { describeStageKernels } from './describe.js';
import { scoped } from './errors.js';
import type { BufferName, TiledLimits, TiledPlan } from './plan.js';
import { bufferBytes, bufferElements, gridFor, scratchElements, stagePlan, tiledPlan, usesMatrices, versionsFor } from './plan.js';
import type { MatrixDevice } from './sgmat.js';
import { describeConfig, EMULATED } from './sgmat.js';
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
  /**
   * The adapter features the float16 device's choice sees (src/dawn.ts AdapterView): what Dawn reports unless given.
   * For tests: an adapter that offers shader-f16 only under Dawn's toggles (as NVIDIA's does), or not at all.
   */
  adapterFeatures?: AdapterView;
  /**
   * Tests only: run tiled version 6 with its subgroup-matrix builtins emulated in plain WGSL (src/sgmat.ts) on the
   * float16 device, on adapters without the feature; Session.kernels says 'emulated'. Never for timing.
   */
  emulateSubgroupMatrix?: boolean;
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
const ROBUSTNESS: readonly Robustness[] = ['on', 'off'];

const storageOf = (problem: Problem): Storage => (problem.dtype === 'float16' ? 'float16' : 'float32');

export function createWgslBackend(options: WgslBackendOptions = {}): Backend {
  let known: KnownLimits = DEFAULT_LIMITS;
  let cpuAdapter = false;
  const pools = new Map<string, BufferPool>();
  const sessions = new Set<Session>();
  const choices = new Map<Variant, WgslChoice | string>();
  /** why the float16 device of a robustness did not open (check() says it once known) */
  const halfRefusals = new Map<Robustness, string>();
  /** why the subgroup-matrix device of a robustness did not open, or what it offers (availability() asks for 'on') */
  const matrixDevices = new Map<Robustness, Omit<MatrixDevice, 'majorness' | 'emulated'> | string>();
  const emulate = options.emulateSubgroupMatrix === true;
  const view = options.adapterFeatures;
  const keyOf = (kind: DeviceKind): string => deviceKey(kind, kind.storage === 'float16' ? view : undefined);

  async function context(kind: DeviceKind = { robustness: 'on', storage: 'float32' }): Promise<GpuContext | string> {
    const ctx = await gpuContext(kind, kind.storage === 'float16' ? view : undefined);
    if (kind.matrices) matrixDevices.set(kind.robustness, typeof ctx === 'string' ? ctx : ctx.matrix!);
    else if (typeof ctx === 'string' && kind.storage === 'float16') halfRefusals.set(kind.robustness, ctx);
    if (typeof ctx !== 'string' && kind.robustness === 'on' && kind.storage === 'float32') {
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
  async function ready(kind: DeviceKind = { robustness: 'on', storage: 'float32' }): Promise<GpuContext> {
    const main = await context();
    if (typeof main === 'string') throw new BackendError(main);
    if (kind.robustness === 'on' && kind.storage === 'float32') return main;
    const other = await context(kind);
    if (typeof other !== 'string') return other;
    if (kind.storage === 'float16') throw new BackendError(other);
    throw new BackendError(`wgsl robust=off: no device without bounds clamps: ${other}`);
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

  /** Version 6's matrix device for a robustness: emulated, known (the device opened), or not yet known. */
  const matrixFor = (robustness: Robustness, knobs: TileKnobs): MatrixDevice | undefined => {
    if (emulate) return { ...EMULATED, majorness: knobs.majorness ?? 'template' };
    const m = matrixDevices.get(robustness);
    return m === undefined || typeof m === 'string' ? undefined : { ...m, emulated: false, majorness: knobs.majorness ?? 'template' };
  };

  /** The adapter's limits with the variant's knobs; the defaults differ between GPUs and CPU adapters (NOTES.md). */
  const tileLimits = (knobs: TileKnobs, matrix?: MatrixDevice): TiledLimits => ({
    ...(matrix ? { matrix } : {}),
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

  /** The tiles of each stage (its version for the problem's dtype: check() refused a version without it), or the kernel no tile of which fits. */
  function plan(problem: Problem, c: WgslChoice, variant: Variant): TiledPlan | TiledKernel | null {
    if (c.base !== 'tiled') return null;
    const versions = versionsFor(c.versions, c.defaulted, problem.dtype, variant);
    if (typeof versions === 'string') throw new BackendError(versions);
    return tiledPlan(problem, versions, tileLimits(c.knobs, matrixFor(c.robustness, c.knobs)));
  }

  /** naive: float32 and float16; tiled@…: those every stage's version (defaults per dtype) takes. No adapter needed. */
  function dtypes(variant: Variant): readonly Dtype[] {
    const c = choiceOf(variant);
    if (typeof c === 'string') return [];
    const storages: readonly Dtype[] = ['float32', 'float16'];
    return c.base === 'tiled' ? storages.filter((t) => typeof versionsFor(c.versions, c.defaulted, t, variant) !== 'string') : storages;
  }

  function check(problem: Problem, variant: Variant): string | null {
    const c = choiceOf(variant);
    if (typeof c === 'string') return c;
    if (problem.dtype === 'bfloat16') return 'wgsl has no bfloat16: WGSL has no bf16 type (wgsl runs float32 and float16)';
    const halfRefused = problem.dtype === 'float16' ? halfRefusals.get(c.robustness) : undefined;
    if (halfRefused) return halfRefused;
    const allowed = perBuffer();
    if (c.base === 'tiled' && (problem.d > TILED_MAX_D || problem.dv > TILED_MAX_D)) {
      return `tiled wgsl takes d and dv up to ${TILED_MAX_D}, got d = ${problem.d}, dv = ${problem.dv} (the naive variant takes any d)`;
    }
    if (c.base === 'tiled') {
      const versions = versionsFor(c.versions, c.defaulted, problem.dtype, variant);
      if (typeof versions === 'string') return versions;
    }
    const tiles = plan(problem, c, variant);
    if (c.base === 'tiled' && tiles !== null && typeof tiles !== 'string' && usesMatrices(tiles) && !emulate) {
      const m = matrixDevices.get(c.robustness);
      if (typeof m === 'string') return `${m} (asked: ${variant})`;
    }
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
      const bytes = bufferBytes(problem, name, bufferElements(problem, name));
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
    const kind: DeviceKind = { robustness: typeof c === 'string' ? 'on' : c.robustness, storage: storageOf(problem) };
    // version 6 runs on a device of its own, with the subgroup-matrix feature (emulated: the float16 device)
    const first = typeof c === 'string' || problem.dtype !== 'float16' ? null : plan(problem, c, variant);
    if (first && typeof first !== 'string' && usesMatrices(first) && !emulate) kind.matrices = true;
    const ctx = await ready(kind);
    const why = check(problem, variant);
    if (why || typeof c === 'string') throw new BackendError(why ?? String(c));
    const tiles = plan(problem, c, variant);
    if (typeof tiles === 'string') throw new BackendError(`wgsl ${variant}: no ${tiles} tile fits`);
    const key = keyOf(kind);
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = new BufferPool()));
    const elements: [BufferName, number][] = TENSORS.map((n) => [n, bufferElements(problem, n)]);
    for (const [n, e] of Object.entries(scratchElements(problem, c.base))) elements.push([n as BufferName, e]);
    const what = `wgsl ${variant} (${describeProblem(problem)}): allocating buffers`;
    const storage = await pool.take(ctx, elements.map(([n, e]) => bufferBytes(problem, n, Math.max(1, e))), STORAGE_USAGE, what);
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
      const t = plan({ bh: 1, nq: 1, nk: 1, d, dv: d, scale: 1, causal: false, dtype: 'float32' }, defaults, 'tiled');
      if (t === null || typeof t === 'string') return `no ${t} tile fits`;
      return Object.fromEntries(STAGES.map((s) => [s, describeStageKernels(t[s])]));
    };
    const made = await contextsByKey();
    // each device kind: its Dawn options, toggles and features once open; why not where it could not open
    const device = (kind: DeviceKind): unknown => {
      const c = made.get(keyOf(kind));
      if (typeof c === 'string') return { open: false, refused: c };
      if (c) {
        const matrix = c.matrix ? { matrixConfig: describeConfig(c.matrix.config), subgroupSize: c.matrix.subgroupSize } : {};
        return { open: true, dawnOptions: c.options, toggles: c.toggles, features: c.requiredFeatures, ...matrix };
      }
      return kind.storage === 'float32'
        ? { open: false, dawnOptions: dawnOptions(kind.robustness) }
        : { open: false, dawnOptions: dawnOptions(kind.robustness), toggles: `${HALF_TOGGLES.join(', ')} added where the adapter offers ${SHADER_F16} only with them` };
    };
    const devices = Object.fromEntries([
      ...(['float32', 'float16'] as const).flatMap((storage) =>
        ROBUSTNESS.map((robustness) => [`${storage === 'float16' ? 'float16 ' : ''}robust=${robustness}`, device({ robustness, storage })]),
      ),
      // tiled version 6's device (subgroup matrices): its configuration and subgroup size once open, else why not
      ...ROBUSTNESS.filter((robustness) => made.has(keyOf({ robustness, storage: 'float16', matrices: true }))).map((robustness) => [
        `float16+matrices robust=${robustness}`,
        device({ robustness, storage: 'float16', matrices: true }),
      ]),
    ]);
    return {
      backend: 'wgsl',
      version: VERSION,
      device: adapterName(ctx.adapter),
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
        adapterFeatures: [...ctx.adapter.features].sort(),
        // Dawn's options, toggles and features per device (src/dawn.ts): robust=on (every default float32 run) keeps
        // the bounds clamps; robust=off variants run on a device without them; float16 problems on one with shader-f16
        devices,
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
      if (typeof ctx === 'string') return ctx;
      // version 6's device, so check() can refuse it in one line where the adapter has no subgroup matrices
      if (!emulate && !matrixDevices.has('on')) await context({ robustness: 'on', storage: 'float16', matrices: true });
      return null;
    },
    info,
    limits(variant: Variant): Limits {
      return {
        maxD: splitVariant(variant).base === 'tiled' ? TILED_MAX_D : Math.floor(known.maxStorageBufferBindingSize / 4),
        causal: true,
        maxBufferBytes: perBuffer(),
      };
    },
    dtypes,
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
