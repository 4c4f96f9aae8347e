/**
 * Loads Dawn: the `webgpu` package, or the dawn.node file named by ATTN_DAWN_NODE (the GPU bundle, which has no
 * node_modules). One device per process and kind, created on first use:
 *
 *   float32, robust=on    the default device: Dawn's bounds clamps, no toggles
 *   float32, robust=off   a variant with robust=off: a GPU object created with the toggles that remove the clamps
 *   float16, either       a float16 problem: a device with the adapter feature shader-f16. Where the adapter offers it
 *                         only with Dawn's toggles (NVIDIA's Vulkan driver: allow_unsafe_apis and
 *                         vulkan_enable_f16_on_nvidia), its GPU object is created with them; elsewhere the same
 *                         options as the float32 device of that robustness (halfDevicePlan).
 *   float16 + matrices    a variant that runs tiled version 6: as float16, with chromium-experimental-subgroup-matrix
 *                         and subgroups too (asked for only then), and the adapter's matrix configurations read.
 *
 * Dawn fixes toggles per GPU object (instance), so devices that differ in toggles come from different GPU objects;
 * GPU objects are kept per option list. The object create() returns is held in a module-level map for the device's
 * whole life: if it is collected while a device lives the process dies in native code (the webgpu package keeps no
 * reference to it; seen as futex/mutex asserts).
 */
import { createRequire } from 'node:module';
import type { DriverChoice } from './environment.js';
import type { MatrixConfig } from './sgmat.js';
import { pickMatrixConfig } from './sgmat.js';
import { FETCH_SCRIPT, prepareVulkanEnvironment } from './environment.js';

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

export const DAWN_OPTIONS = ['disable-dawn-features=timestamp_quantization'];

/**
 * The toggles of the robust=off device: no bounds clamps on buffer and array accesses (Dawn's allow_unsafe_apis +
 * disable_robustness). Our kernels bound-check every access themselves and are verified against the float64
 * reference; the clamps cost 2–8 % on the H100 with kernel 5, 1.4–1.9× with kernels 2 and 3 (NOTES.md). Off only
 * on request (tiled@robust=off), and recorded in Session.kernels and info().
 */
export const UNSAFE_TOGGLES = ['allow_unsafe_apis', 'disable_robustness'];

/** The toggles under which NVIDIA's adapter offers shader-f16 (and chromium-experimental-subgroup-matrix). */
export const HALF_TOGGLES = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];

export const SHADER_F16 = 'shader-f16';
/** requested, with shader-f16 and subgroups, only on the device of a variant that runs tiled version 6 */
export const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix';
export const SUBGROUPS = 'subgroups';

export type Robustness = 'on' | 'off';
/** What the tensors are stored in on that device: float16 needs shader-f16. */
export type Storage = 'float32' | 'float16';

export interface DeviceKind {
  robustness: Robustness;
  storage: Storage;
  /** float16 only: the subgroup matrices of tiled version 6 */
  matrices?: boolean;
}

/** The Dawn options of a GPU object with these toggles enabled (one enable-dawn-features entry: a later one would replace it). */
export function optionsWith(toggles: readonly string[]): string[] {
  const unique = [...new Set(toggles)];
  return unique.length ? [...DAWN_OPTIONS, `enable-dawn-features=${unique.join(',')}`] : [...DAWN_OPTIONS];
}

/** The options of the float32 device of that robustness (and of the float16 one where no toggles are needed). */
export function dawnOptions(robustness: Robustness = 'on'): string[] {
  return optionsWith(robustness === 'off' ? UNSAFE_TOGGLES : []);
}

/** An adapter as the float16 device's choice sees it. */
export interface AdapterOffer {
  /** e.g. 'NVIDIA H200' or 'llvmpipe (LLVM 19.1.7, 256 bits)' */
  name: string;
  features: ReadonlySet<string>;
}

export interface HalfDevicePlan {
  /** toggles the GPU object needs beyond the robustness's own: none, or HALF_TOGGLES */
  toggles: readonly string[];
  /** the features the device requests for float16: shader-f16; with matrices, subgroups and the subgroup matrices */
  features: readonly string[];
}

/**
 * How to get shader-f16 (with `matrices`, also subgroups and chromium-experimental-subgroup-matrix) from an adapter:
 * as it is when it offers them; else with HALF_TOGGLES when the adapter under them (`withToggles`, asked only then)
 * offers them; else a one-line refusal naming the adapter and the missing feature.
 */
export async function halfDevicePlan(plain: AdapterOffer, withToggles: () => Promise<AdapterOffer | null>, matrices = false): Promise<HalfDevicePlan | string> {
  const wanted = matrices ? [SHADER_F16, SUBGROUPS, SUBGROUP_MATRIX] : [SHADER_F16];
  const offers = (o: AdapterOffer | null): boolean => o !== null && wanted.every((f) => o.features.has(f));
  if (offers(plain)) return { toggles: [], features: wanted };
  const toggled = await withToggles();
  if (offers(toggled)) return { toggles: HALF_TOGGLES, features: wanted };
  const missing = wanted.find((f) => !plain.features.has(f) && !toggled?.features.has(f)) ?? wanted.find((f) => !toggled?.features.has(f))!;
  const who = missing === SHADER_F16 ? 'wgsl float16' : 'wgsl tiled version 6 (subgroup matrices)';
  return `${who} needs the adapter feature ${missing}, which ${plain.name} does not offer (nor with the Dawn toggles ${HALF_TOGGLES.join(', ')})`;
}

/** The subgroup matrices a matrix device runs with: the picked configuration and the (fixed) subgroup size. */
export interface MatrixOffer {
  config: MatrixConfig;
  subgroupSize: number;
}

/**
 * The matrix configuration and subgroup size from an adapter's info (subgroupMatrixConfigs, subgroupMin/MaxSize), or
 * one line why version 6 cannot run there: no f16 → f32 configuration, or a subgroup size that varies (the shaders
 * take W = invocations / size subgroups, each with its own rows).
 */
export function matrixOffer(info: { subgroupMatrixConfigs?: readonly MatrixConfig[]; subgroupMinSize?: number; subgroupMaxSize?: number }, adapter: string): MatrixOffer | string {
  const config = pickMatrixConfig(info.subgroupMatrixConfigs ?? []);
  if (typeof config === 'string') return `wgsl tiled version 6 on ${adapter}: ${config}`;
  const min = info.subgroupMinSize ?? 0;
  const max = info.subgroupMaxSize ?? 0;
  if (min !== max || max === 0) return `wgsl tiled version 6 needs one subgroup size, ${adapter} has ${min} to ${max}`;
  return { config, subgroupSize: max };
}

/**
 * What the backend takes an adapter to offer: by default what Dawn reports; a backend may narrow it (tests: an adapter
 * that offers shader-f16 only with toggles, or not at all). `toggles`: those its GPU object was created with.
 */
export type AdapterView = (offered: ReadonlySet<string>, toggles: readonly string[]) => ReadonlySet<string>;

export interface GpuContext {
  kind: DeviceKind;
  robustness: Robustness;
  /** the options its GPU object was created with (optionsWith) */
  options: readonly string[];
  /** the toggles among them: robust=off's, the float16 ones where the adapter needed them */
  toggles: readonly string[];
  /** the toggles this device has for float16's sake (HALF_TOGGLES or none) */
  halfToggles: readonly string[];
  /** every feature the device was created with */
  requiredFeatures: readonly string[];
  adapter: GPUAdapter;
  device: GPUDevice;
  driver: DriverChoice;
  features: { timestamps: boolean; subgroups: boolean; f16: boolean; subgroupMatrix: boolean };
  /** a matrix device (kind.matrices): the configuration and subgroup size version 6 compiles for */
  matrix?: MatrixOffer;
  /** rejects when the device is lost, with the reason */
  lost: Promise<never>;
  lostReason: string | undefined;
}

const gpuHolders = new Map<string, GPU>();
const contexts = new Map<string, Promise<GpuContext | string>>();
const viewIds = new WeakMap<AdapterView, number>();
let views = 0;

async function loadDawn(): Promise<DawnModule> {
  const path = process.env.ATTN_DAWN_NODE;
  if (path) return createRequire(import.meta.url)(path) as DawnModule;
  return (await import('webgpu')) as unknown as DawnModule;
}

export function adapterName(a: GPUAdapter): string {
  const i = a.info;
  return i.description || i.device || `${i.vendor} ${i.architecture}`.trim() || 'unknown adapter';
}

/** A fresh adapter of the GPU object with these options (created on first use and held). */
async function requestAdapter(dawn: DawnModule, options: string[]): Promise<GPUAdapter | null> {
  const key = options.join(' ');
  let gpu = gpuHolders.get(key);
  if (!gpu) {
    gpu = dawn.create(options);
    gpuHolders.set(key, gpu);
  }
  return gpu.requestAdapter({ powerPreference: 'high-performance' });
}

async function initialise(kind: DeviceKind, view: AdapterView | undefined): Promise<GpuContext | string> {
  const driver = prepareVulkanEnvironment();
  let dawn: DawnModule;
  try {
    dawn = await loadDawn();
  } catch (e) {
    return `WebGPU (Dawn) not loadable: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis)) (globalThis as Record<string, unknown>)[key] = value;
  }
  const base = kind.robustness === 'off' ? UNSAFE_TOGGLES : [];
  let toggles: readonly string[] = base;
  let adapter = await requestAdapter(dawn, optionsWith(toggles));
  if (!adapter) {
    const hint =
      driver.source === 'lavapipe' ? `the CPU adapter at ${driver.icd} did not open`
      : driver.source === 'user' ? `the Vulkan driver in VK_ICD_FILENAMES/VK_DRIVER_FILES (${driver.icd}) gave none`
      : `no GPU adapter and no CPU adapter: run ${FETCH_SCRIPT}`;
    return `no WebGPU adapter: ${hint}`;
  }
  const offer = (a: GPUAdapter, t: readonly string[]): AdapterOffer => {
    const offered = new Set<string>(a.features);
    return { name: adapterName(a), features: view ? view(offered, t) : offered };
  };
  let extra: readonly string[] = [];
  let halfToggles: readonly string[] = [];
  if (kind.storage === 'float16') {
    let toggled: GPUAdapter | null = null;
    const withHalf = [...base, ...HALF_TOGGLES];
    const plan = await halfDevicePlan(
      offer(adapter, base),
      async () => {
        toggled = await requestAdapter(dawn, optionsWith(withHalf));
        return toggled ? offer(toggled, withHalf) : null;
      },
      kind.matrices === true,
    );
    if (typeof plan === 'string') return plan;
    if (plan.toggles.length > 0) {
      adapter = toggled!;
      toggles = [...new Set(withHalf)];
      halfToggles = plan.toggles;
    }
    extra = plan.features;
  }
  let matrix: MatrixOffer | undefined;
  if (kind.matrices) {
    const m = matrixOffer(adapter.info as unknown as Parameters<typeof matrixOffer>[0], adapterName(adapter));
    if (typeof m === 'string') return m;
    matrix = m;
  }
  const timestamps = adapter.features.has('timestamp-query');
  const subgroups = adapter.features.has(SUBGROUPS);
  const requiredFeatures = [...new Set([...(timestamps ? ['timestamp-query'] : []), ...(subgroups ? [SUBGROUPS] : []), ...extra])];
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: requiredFeatures as GPUFeatureName[],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
  const ctx: GpuContext = {
    kind,
    robustness: kind.robustness,
    options: optionsWith(toggles),
    toggles,
    halfToggles,
    requiredFeatures,
    adapter,
    device,
    driver,
    features: { timestamps, subgroups, f16: extra.includes(SHADER_F16), subgroupMatrix: extra.includes(SUBGROUP_MATRIX) },
    ...(matrix ? { matrix } : {}),
    lost: undefined as unknown as Promise<never>,
    lostReason: undefined,
  };
  ctx.lost = device.lost.then((info) => {
    ctx.lostReason = `WebGPU device lost (${info.reason}): ${info.message}`;
    throw new Error(ctx.lostReason);
  });
  ctx.lost.catch(() => undefined);
  return ctx;
}

/** The key of a device kind (a backend with its own AdapterView gets devices of its own). */
export function deviceKey(kind: DeviceKind, view?: AdapterView): string {
  let id = '';
  if (view) {
    if (!viewIds.has(view)) viewIds.set(view, ++views);
    id = ` view${viewIds.get(view)}`;
  }
  return `${kind.storage}${kind.matrices ? '+matrices' : ''} robust=${kind.robustness}${id}`;
}

const asKind = (k: Robustness | DeviceKind): DeviceKind => (typeof k === 'string' ? { robustness: k, storage: 'float32' } : k);

/** The process's device of that kind (a robustness: its float32 device), created on first use; a string says why there is none. */
export function gpuContext(kind: Robustness | DeviceKind = 'on', view?: AdapterView): Promise<GpuContext | string> {
  const k = asKind(kind);
  const key = deviceKey(k, view);
  let context = contexts.get(key);
  if (!context) {
    context = initialise(k, view).catch((e: unknown) => `WebGPU initialisation failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    contexts.set(key, context);
  }
  return context;
}

/** What became of each device kind asked for so far, by deviceKey (for info()): the device, or why there is none. */
export async function contextsByKey(): Promise<Map<string, GpuContext | string>> {
  const entries = [...contexts.entries()];
  const settled = await Promise.all(entries.map(([, p]) => p));
  return new Map(entries.map(([key], i) => [key, settled[i]!]));
}

/** The devices created so far. */
export async function liveContexts(): Promise<GpuContext[]> {
  const all = await Promise.all(contexts.values());
  return all.filter((c): c is GpuContext => typeof c !== 'string');
}

/** Destroys every device and only then drops their GPU objects. */
export async function releaseGpu(): Promise<void> {
  const pending = [...contexts.values()];
  contexts.clear();
  for (const ctx of await Promise.all(pending)) {
    if (typeof ctx === 'string') continue;
    ctx.device.destroy();
    // destroy() resolves device.lost; the timeout only guards against a driver that never does
    await Promise.race([ctx.lost.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
  gpuHolders.clear();
}

/** For tests that check the holder outlives the device: whether the GPU object of the float32 device of that robustness is held. */
export function holdsGpu(robustness: Robustness = 'on'): boolean {
  return gpuHolders.has(dawnOptions(robustness).join(' '));
}
