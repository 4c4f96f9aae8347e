/** Shared by the tests: the package's paths, whether nvcc is here, the backend's availability line, the version table. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dtype, KernelStage } from '@attn/reference';
import { STAGE_TOKENS } from '@attn/reference';
import type { Addon, AddonChoice, AddonProblem, AddonSession, AddonVariant, AddonVersionTable } from '../src/index.js';
import { createCudaBackend } from '../src/index.js';

export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_SCRIPT = join(PACKAGE_DIR, 'scripts', 'build-addon.mjs');
export const ADDON = join(PACKAGE_DIR, 'build', 'Release', 'attn_cuda.node');
export const KERNELS_DIR = join(PACKAGE_DIR, 'kernels');

/** Same search as scripts/build-addon.mjs. */
export function nvccHere(): boolean {
  if (process.env.NVCC) return existsSync(process.env.NVCC);
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  return dirs.some((d) => existsSync(join(d, 'nvcc'))) || existsSync('/usr/local/cuda/bin/nvcc');
}

/** null where a CUDA device answers; else the one line saying why not (tests needing a GPU skip with it). */
export const GPU_MISSING: string | null = await createCudaBackend().availability();

export const GXX_HERE = spawnSync('g++', ['--version']).status === 0;

/**
 * The version table of kernels/tiled/versions.h exactly as the addon exports it (versions_json), compiled with g++
 * (about a second), so tests without nvcc or a GPU see the real table. Throws when g++ fails.
 */
export function versionTableFromHeader(): AddonVersionTable {
  const dir = mkdtempSync(join(tmpdir(), 'attn-versions-'));
  writeFileSync(join(dir, 'list.cpp'), '#include <cstdio>\n#include "tiled/versions.h"\nint main() { std::puts(attn_tiled::versions_json().c_str()); }\n');
  const binary = join(dir, 'list');
  const built = spawnSync('g++', ['-std=c++17', `-I${KERNELS_DIR}`, '-o', binary, join(dir, 'list.cpp')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`g++ versions.h: ${built.stderr}`);
  const listed = spawnSync(binary, [], { encoding: 'utf8' });
  return JSON.parse(listed.stdout) as AddonVersionTable;
}

export const STAGES: readonly KernelStage[] = ['lse', 'forward', 'backward'];

/** 'lse' | 'fwd' | 'bwd': a stage's token in version names (fwd4) and variants (tiled@fwd4). */
export const stageToken = (stage: KernelStage): string => Object.entries(STAGE_TOKENS).find(([, s]) => s === stage)![0];

/** The version a plain 'tiled' runs for each stage in `dtype`: the table's row whose defaultFor names the dtype. */
export function tableDefaults(table: AddonVersionTable, dtype: Dtype): Record<KernelStage, number> {
  const of = (stage: KernelStage) => table.versions.find((v) => v.stage === stage && v.defaultFor.includes(dtype))!.version;
  return { lse: of('lse'), forward: of('forward'), backward: of('backward') };
}

/**
 * The versions of `stage` that take `dtype`, as a dtype refusal names them, from the table:
 * "fwd1: float32, float16, bfloat16; fwd5: float16, bfloat16".
 */
export function takersOf(table: AddonVersionTable, stage: KernelStage, dtype: Dtype): string {
  return table.versions
    .filter((v) => v.stage === stage && v.dtypes.includes(dtype))
    .map((v) => `${stageToken(stage)}${v.version}: ${v.dtypes.join(', ')}`)
    .join('; ');
}

/** "lse1…lse4, fwd1…fwd5, bwd1…bwd4": the stage versions of the table as an unknown-version refusal lists them. */
export function versionRanges(table: AddonVersionTable): string {
  return STAGES.map((stage) => {
    const vs = table.versions.filter((v) => v.stage === stage).map((v) => v.version);
    return `${stageToken(stage)}${Math.min(...vs)}…${stageToken(stage)}${Math.max(...vs)}`;
  }).join(', ');
}

/** `text` as a RegExp source matching it literally. */
export const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What a stand-in addon's Session was asked to open. */
export interface Opened {
  variant: AddonVariant;
  choice: AddonChoice | undefined;
  /** the problem's dtype where it is a half one */
  dtype?: string;
}

/** An addon whose Session records what it was asked and answers kernels as the native plan would for D = 64. */
export function fakeAddon(opened: Opened[]): Addon {
  const table = versionTableFromHeader();
  class FakeSession implements Partial<AddonSession> {
    readonly deviceBytes = 1024;
    readonly kernels?: AddonSession['kernels'];
    constructor(problem: AddonProblem, variant: AddonVariant, choice?: AddonChoice) {
      opened.push({ variant, choice, ...(problem.dtype && problem.dtype !== 'float32' ? { dtype: problem.dtype } : {}) });
      if (variant === 'tiled' && choice) {
        this.kernels = { lse: `lse${choice.lse} shape1`, forward: `fwd${choice.forward} shape1`, backward: `bwd${choice.backward}` };
      }
    }
    dispose(): void {}
  }
  return {
    built: true,
    buildId: 'fake',
    tiledAvailable: true,
    tiledMaxD: 256,
    l2Scrub: true,
    tiledVersions: table,
    deviceInfo: () => ({
      name: 'Fake GPU', computeCapability: '9.0', multiprocessors: 132, totalMemoryBytes: 2 ** 36, freeMemoryBytes: 2 ** 36,
      sharedMemPerBlockOptinBytes: 232448, l2CacheBytes: 2 ** 25, driverVersion: '13.0', runtimeVersion: '13.0', deviceCount: 1,
    }),
    scratchBytes: () => 0,
    Session: FakeSession as unknown as Addon['Session'],
  };
}
