/** @attn/kernels-cuda: CUDA kernels of three-stage attention behind the Backend contract. */
import type { Backend } from '@attn/reference';
import { CudaBackend } from './backend.js';

export function createCudaBackend(): Backend {
  return new CudaBackend();
}

export { CudaBackend, NAIVE_MAX_D } from './backend.js';
export { addonPath, loadAddon } from './addon.js';
export type { Addon, AddonDeviceInfo, AddonLoad } from './addon.js';
export { checkProblem, tensorBytes } from './check.js';
export type { CudaCapabilities } from './check.js';
