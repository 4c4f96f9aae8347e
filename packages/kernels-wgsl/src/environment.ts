/**
 * Finds a Vulkan driver for Dawn before the first create(): the project-local lavapipe that
 * scripts/fetch-lavapipe.sh installs in <repo>/.cache/lavapipe, used only when the user chose no driver
 * (VK_ICD_FILENAMES / VK_DRIVER_FILES unset) and the machine has no GPU device node. Pointing the loader at that one
 * json also keeps Debian's own, too old lavapipe from being picked.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAVAPIPE_ICD = join('.cache', 'lavapipe', 'icd.json');
export const FETCH_SCRIPT = 'packages/kernels-wgsl/scripts/fetch-lavapipe.sh';

export interface DriverChoice {
  /** 'user' (env already set), 'lavapipe' (set here), 'system' (left to the loader's defaults) */
  source: 'user' | 'lavapipe' | 'system';
  icd?: string;
}

function hasGpuDeviceNode(): boolean {
  if (existsSync('/dev/nvidiactl')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** <dir>/.cache/lavapipe/icd.json in dir or the nearest folder above it that has one. */
function findUp(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, LAVAPIPE_ICD);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function findLavapipeIcd(): string | undefined {
  return findUp(dirname(fileURLToPath(import.meta.url))) ?? findUp(process.cwd());
}

function ensureRuntimeDir(env: NodeJS.ProcessEnv): void {
  if (env.XDG_RUNTIME_DIR) return;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = join(tmpdir(), `attn-xdg-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  env.XDG_RUNTIME_DIR = dir;
}

/** Sets the env for the Vulkan loader (before the first create()); an env the user set is left as it is. */
export function prepareVulkanEnvironment(env: NodeJS.ProcessEnv = process.env): DriverChoice {
  ensureRuntimeDir(env);
  const user = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES;
  if (user) return { source: 'user', icd: user };
  if (hasGpuDeviceNode()) return { source: 'system' };
  const icd = findLavapipeIcd();
  if (!icd) return { source: 'system' };
  env.VK_ICD_FILENAMES = icd;
  return { source: 'lavapipe', icd };
}
