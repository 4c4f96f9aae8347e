/**
 * Loads Dawn: the `webgpu` package, or the dawn.node file named by ATTN_DAWN_NODE (the GPU bundle, which has no
 * node_modules). One GPU object and one device per process.
 *
 * The object create() returns is held in a module-level variable for the device's whole life: if it is collected
 * while a device lives the process dies in native code (the webgpu package keeps no reference to it; seen as futex/mutex asserts).
 */
import { createRequire } from 'node:module';
import { BackendError } from '@attn/reference';
import type { DriverChoice } from './environment.js';
import { FETCH_SCRIPT, prepareVulkanEnvironment } from './environment.js';

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

export const DAWN_OPTIONS = ['disable-dawn-features=timestamp_quantization'];

/**
 * ATTN_WGSL_ROBUSTNESS=off turns off Dawn's bounds clamps on every buffer and array access (Dawn's
 * allow_unsafe_apis + disable_robustness). Our kernels bound-check every access themselves and are verified against
 * the float64 reference; the clamps cost up to ~1.8× on the H100 (NOTES.md, kernel 3). Off only on request, and
 * reported by info() so a report says which was measured.
 */
export function robustnessOff(env: string | undefined = process.env.ATTN_WGSL_ROBUSTNESS): boolean {
  if (env === undefined || env === '' || env === 'on') return false;
  if (env === 'off') return true;
  throw new BackendError(`ATTN_WGSL_ROBUSTNESS must be 'on' or 'off', got '${env}'`);
}

export function dawnOptions(): string[] {
  return robustnessOff() ? [...DAWN_OPTIONS, 'enable-dawn-features=allow_unsafe_apis,disable_robustness'] : DAWN_OPTIONS;
}

export interface GpuContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  driver: DriverChoice;
  features: { timestamps: boolean; subgroups: boolean };
  /** rejects when the device is lost, with the reason */
  lost: Promise<never>;
  lostReason: string | undefined;
}

let gpuHolder: GPU | undefined;
let context: Promise<GpuContext | string> | undefined;

async function loadDawn(): Promise<DawnModule> {
  const path = process.env.ATTN_DAWN_NODE;
  if (path) return createRequire(import.meta.url)(path) as DawnModule;
  return (await import('webgpu')) as unknown as DawnModule;
}

async function initialise(): Promise<GpuContext | string> {
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
  gpuHolder = dawn.create(dawnOptions());
  const adapter = await gpuHolder.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    const hint =
      driver.source === 'lavapipe' ? `the CPU adapter at ${driver.icd} did not open`
      : driver.source === 'user' ? `the Vulkan driver in VK_ICD_FILENAMES/VK_DRIVER_FILES (${driver.icd}) gave none`
      : `no GPU adapter and no CPU adapter: run ${FETCH_SCRIPT}`;
    gpuHolder = undefined;
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

/** The process's device, created on first use; a string says why there is none. */
export function gpuContext(): Promise<GpuContext | string> {
  context ??= initialise().catch((e: unknown) => `WebGPU initialisation failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  return context;
}

/** Destroys the device and only then drops the GPU object. */
export async function releaseGpu(): Promise<void> {
  const pending = context;
  context = undefined;
  const ctx = pending ? await pending : undefined;
  if (ctx && typeof ctx !== 'string') {
    ctx.device.destroy();
    // destroy() resolves device.lost; the timeout only guards against a driver that never does
    await Promise.race([ctx.lost.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
  gpuHolder = undefined;
}

/** For tests that check the holder outlives the device. */
export function holdsGpu(): boolean {
  return gpuHolder !== undefined;
}
