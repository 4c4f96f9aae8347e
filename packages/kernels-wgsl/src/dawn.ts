/**
 * Loads Dawn: the `webgpu` package, or the dawn.node file named by ATTN_DAWN_NODE (the GPU bundle, which has no
 * node_modules). One GPU object and one device per process and robustness setting: the default device keeps Dawn's
 * bounds clamps; a variant with robust=off runs on a second device, created on first use, whose GPU object was created
 * with the toggles that remove them (Dawn fixes toggles per instance, so they cannot differ within one device).
 *
 * The object create() returns is held in a module-level map for the device's whole life: if it is collected while a
 * device lives the process dies in native code (the webgpu package keeps no reference to it; seen as futex/mutex asserts).
 */
import { createRequire } from 'node:module';
import type { DriverChoice } from './environment.js';
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
export const UNSAFE_OPTIONS = ['enable-dawn-features=allow_unsafe_apis,disable_robustness'];

export type Robustness = 'on' | 'off';

/** The options the GPU object of that device is created with. */
export function dawnOptions(robustness: Robustness = 'on'): string[] {
  return robustness === 'off' ? [...DAWN_OPTIONS, ...UNSAFE_OPTIONS] : DAWN_OPTIONS;
}

export interface GpuContext {
  robustness: Robustness;
  /** the options its GPU object was created with (dawnOptions) */
  options: readonly string[];
  adapter: GPUAdapter;
  device: GPUDevice;
  driver: DriverChoice;
  features: { timestamps: boolean; subgroups: boolean };
  /** rejects when the device is lost, with the reason */
  lost: Promise<never>;
  lostReason: string | undefined;
}

const gpuHolders = new Map<Robustness, GPU>();
const contexts = new Map<Robustness, Promise<GpuContext | string>>();

async function loadDawn(): Promise<DawnModule> {
  const path = process.env.ATTN_DAWN_NODE;
  if (path) return createRequire(import.meta.url)(path) as DawnModule;
  return (await import('webgpu')) as unknown as DawnModule;
}

async function initialise(robustness: Robustness): Promise<GpuContext | string> {
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
  const options = dawnOptions(robustness);
  const gpu = dawn.create(options);
  gpuHolders.set(robustness, gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    const hint =
      driver.source === 'lavapipe' ? `the CPU adapter at ${driver.icd} did not open`
      : driver.source === 'user' ? `the Vulkan driver in VK_ICD_FILENAMES/VK_DRIVER_FILES (${driver.icd}) gave none`
      : `no GPU adapter and no CPU adapter: run ${FETCH_SCRIPT}`;
    gpuHolders.delete(robustness);
    return `no WebGPU adapter: ${hint}`;
  }
  const timestamps = adapter.features.has('timestamp-query');
  const subgroups = adapter.features.has('subgroups');
  const requiredFeatures: GPUFeatureName[] = [];
  if (timestamps) requiredFeatures.push('timestamp-query');
  if (subgroups) requiredFeatures.push('subgroups' as GPUFeatureName);
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
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
    robustness,
    options,
    adapter,
    device,
    driver,
    features: { timestamps, subgroups },
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

/** The process's device with that robustness, created on first use; a string says why there is none. */
export function gpuContext(robustness: Robustness = 'on'): Promise<GpuContext | string> {
  let context = contexts.get(robustness);
  if (!context) {
    context = initialise(robustness).catch((e: unknown) => `WebGPU initialisation failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    contexts.set(robustness, context);
  }
  return context;
}

/** The devices created so far (for info()). */
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

/** For tests that check the holder outlives the device. */
export function holdsGpu(robustness: Robustness = 'on'): boolean {
  return gpuHolders.has(robustness);
}
