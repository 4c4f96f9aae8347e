/** Shared by the tests: the package's paths, whether nvcc is here, and the backend's availability line. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCudaBackend } from '../src/index.js';

export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_SCRIPT = join(PACKAGE_DIR, 'scripts', 'build-addon.mjs');
export const ADDON = join(PACKAGE_DIR, 'build', 'Release', 'attn_cuda.node');

/** Same search as scripts/build-addon.mjs. */
export function nvccHere(): boolean {
  if (process.env.NVCC) return existsSync(process.env.NVCC);
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  return dirs.some((d) => existsSync(join(d, 'nvcc'))) || existsSync('/usr/local/cuda/bin/nvcc');
}

/** null where a CUDA device answers; else the one line saying why not (tests needing a GPU skip with it). */
export const GPU_MISSING: string | null = await createCudaBackend().availability();
