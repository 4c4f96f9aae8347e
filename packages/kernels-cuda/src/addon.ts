/**
 * Finding and loading attn_cuda.node: ATTN_CUDA_ADDON (an absolute path, used by the one-file GPU bundle) or
 * ../build/Release/attn_cuda.node next to this package's dist/. A missing or unloadable addon is a reason string,
 * never a throw, so the backend can answer availability() with one line.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dtype, KernelVersion, VariantKnob } from '@attn/reference';

export interface AddonProblem {
  bh: number;
  nq: number;
  nk: number;
  d: number;
  dv: number;
  scale: number;
  causal: boolean;
  /** storage of q, k, v, dO, o, dq, dk, dv on the device (absent: float32); lse and delta stay float32 */
  dtype?: Dtype;
}

export type AddonVariant = 'naive' | 'tiled';
export type AddonStage = 'lse' | 'forward' | 'backward';
export type AddonTensor = 'q' | 'k' | 'v' | 'dO' | 'lse' | 'o' | 'dq' | 'dk' | 'dv' | 'delta';

export interface AddonDeviceInfo {
  name: string;
  computeCapability: string;
  multiprocessors: number;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  sharedMemPerBlockOptinBytes: number;
  l2CacheBytes: number;
  driverVersion: string;
  runtimeVersion: string;
  deviceCount: number;
}

/** A row of the version table (kernels/tiled/versions.h), as the addon exports it. */
export interface AddonKernelVersion extends KernelVersion {
  /** the storage dtypes it takes; any other is refused (never a silent fallback) */
  dtypes: Dtype[];
  /** the dtypes for which a plain 'tiled' runs it (isDefault: float32 among them) */
  defaultFor: Dtype[];
  /** head-dim buckets with a kernel (32, 64, 128, 256); any other bucket runs the stage's version 1 */
  buckets: number[];
  /** the knobs it reads, by name */
  knobs: string[];
  /** the report that measured it, a path under reports/ */
  measured: string;
}

export interface AddonVersionTable {
  versions: AddonKernelVersion[];
  knobs: VariantKnob[];
}

/**
 * What a tiled session runs (AttnTiledChoice in kernels/tiled/versions.h): a version per stage (0: the table's
 * default), the tile shape of the versions with the shape knob (lse3, fwd4, lse4, fwd5; -1: automatic), and whether
 * score products are one long mma chain.
 */
export interface AddonChoice {
  lse: number;
  forward: number;
  backward: number;
  shape: -1 | 0 | 1;
  longScores: boolean;
}

export interface AddonTimings {
  totalMs: number[];
  perStageMs: Partial<Record<AddonStage, number[]>>;
}

/**
 * The native Session (src/binding/session_wrap.cpp). write and read take Float32Array in every dtype: a half
 * tensor is rounded to the dtype on the host as it is written (to nearest even) and widened exactly as it is read.
 */
export interface AddonSession {
  readonly deviceBytes: number;
  /** tiled: what each stage runs for this problem ("lse3 shape0", "bwd1 (bwd3 has no D=256 bucket)"); naive: undefined */
  readonly kernels?: Record<AddonStage, string>;
  write(name: AddonTensor, data: Float32Array): void;
  read(name: AddonTensor, out: Float32Array): void;
  poison(): void;
  run(stages: readonly AddonStage[]): Promise<void>;
  /** coldL2: scrub the L2 before each timed sample (honoured only where the addon exports l2Scrub) */
  time(stages: readonly AddonStage[], warmup: number, samples: number, coldL2?: boolean): Promise<AddonTimings>;
  dispose(): void;
}

/** What attn_cuda.node exports (src/binding/addon.cpp). */
export interface Addon {
  built: true;
  buildId: string;
  tiledAvailable: boolean;
  /** 0 when tiledAvailable is false */
  tiledMaxD: number;
  /** Session.time honours its coldL2 argument (absent in builds older than that argument) */
  l2Scrub?: boolean;
  /** the tiled kernels' version table and knobs (present when tiledAvailable) */
  tiledVersions?: AddonVersionTable;
  /** throws with the CUDA error string when there is no usable device */
  deviceInfo(): AddonDeviceInfo;
  scratchBytes(problem: AddonProblem, variant: AddonVariant): number;
  /** choice: tiled only (absent: the defaults); throws on a version the table lacks */
  Session: new (problem: AddonProblem, variant: AddonVariant, choice?: AddonChoice) => AddonSession;
}

export type AddonLoad = { addon: Addon; path: string } | { reason: string; path: string };

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the addon is expected: ATTN_CUDA_ADDON when set, else the package's build folder. */
export function addonPath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.ATTN_CUDA_ADDON;
  if (fromEnv) return isAbsolute(fromEnv) ? fromEnv : resolve(fromEnv);
  return join(packageDir, 'build', 'Release', 'attn_cuda.node');
}

export function loadAddon(path: string = addonPath()): AddonLoad {
  if (!existsSync(path)) {
    // The build script leaves this marker when it found no nvcc.
    const marker = join(dirname(path), '..', 'NOT_BUILT');
    const reason = existsSync(marker)
      ? 'CUDA backend not built: nvcc not found'
      : `CUDA backend not built: ${path} is missing (run pnpm build)`;
    return { reason, path };
  }
  try {
    const addon = createRequire(import.meta.url)(path) as Addon;
    return { addon, path };
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return { reason: `CUDA addon failed to load: ${why}`, path };
  }
}
