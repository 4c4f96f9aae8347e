/** @attn/kernels-cuda: CUDA kernels of three-stage attention behind the Backend contract. */
import { CudaBackend } from './backend.js';

/** The CUDA backend over build/Release/attn_cuda.node (or ATTN_CUDA_ADDON); a Backend with the version table. */
export function createCudaBackend(): CudaBackend {
  return new CudaBackend();
}

export { CudaBackend, NAIVE_MAX_D } from './backend.js';
export { addonPath, loadAddon } from './addon.js';
export type { Addon, AddonChoice, AddonDeviceInfo, AddonKernelVersion, AddonLoad, AddonProblem, AddonSession, AddonVariant, AddonVersionTable } from './addon.js';
export { parseCudaVariant } from './variant.js';
export type { CudaVariant } from './variant.js';
export { checkProblem, tensorBytes } from './check.js';
export type { CudaCapabilities } from './check.js';
