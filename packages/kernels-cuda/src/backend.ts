/**
 * The CUDA backend: the Backend contract over attn_cuda.node. Usable only where the addon was built (nvcc) and a
 * CUDA device answers; otherwise availability() says which of the two is missing, in one line.
 */
import type { Backend, BackendInfo, Dtype, Limits, Problem, Session, Variant, VariantKnob } from '@attn/reference';
import { BackendError, DTYPES, splitVariant } from '@attn/reference';
import type { Addon, AddonDeviceInfo, AddonKernelVersion, AddonLoad, AddonVersionTable } from './addon.js';
import { loadAddon } from './addon.js';
import type { CudaCapabilities } from './check.js';
import { checkProblem } from './check.js';
import { CudaSession } from './session.js';
import type { CudaVariant } from './variant.js';
import { parseCudaVariant } from './variant.js';

/** The naive kernels loop over d: no limit but memory. */
export const NAIVE_MAX_D = Number.MAX_SAFE_INTEGER;

type Probe = { device: AddonDeviceInfo } | { reason: string };

/** "cudaGetDeviceCount: CUDA driver version is insufficient … [addon.cpp:23]" → the CUDA error string alone. */
function cudaReason(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  return msg.replace(/^[A-Za-z]+: /, '').replace(/ \[[^\]]*\]$/, '');
}

/** Errors of the memory check before allocation: the problem does not fit, a user-level refusal. */
const OUT_OF_MEMORY = /need [\d.]+ GiB.*device has [\d.]+ GiB free/;

export class CudaBackend implements Backend {
  readonly name = 'cuda';
  readonly variants: readonly Variant[];
  /** the tiled kernels' version table (kernels/tiled/versions.h), from the addon; absent without tiled kernels */
  readonly kernelVersions?: readonly AddonKernelVersion[];
  readonly knobs?: readonly VariantKnob[];
  private readonly table: AddonVersionTable | undefined;
  private probed: Probe | undefined;
  private readonly sessions = new Set<CudaSession>();

  constructor(private readonly load: AddonLoad = loadAddon()) {
    const tiled = 'addon' in load && load.addon.tiledAvailable;
    this.variants = tiled ? ['naive', 'tiled'] : ['naive'];
    this.table = tiled ? load.addon.tiledVersions : undefined;
    if (this.table) {
      this.kernelVersions = this.table.versions;
      this.knobs = this.table.knobs;
    }
  }

  private get addon(): Addon | null {
    return 'addon' in this.load ? this.load.addon : null;
  }

  private probe(): Probe {
    if (this.probed) return this.probed;
    if ('reason' in this.load) {
      this.probed = { reason: this.load.reason };
    } else {
      try {
        this.probed = { device: this.load.addon.deviceInfo() };
      } catch (e) {
        this.probed = { reason: `no CUDA device found (${cudaReason(e)})` };
      }
    }
    return this.probed;
  }

  async availability(): Promise<string | null> {
    const p = this.probe();
    return 'reason' in p ? p.reason : null;
  }

  async info(): Promise<BackendInfo> {
    const p = this.probe();
    if ('reason' in p) throw new BackendError(p.reason);
    const addon = this.addon!;
    const d = p.device;
    return {
      backend: 'cuda',
      version: addon.buildId,
      device: d.name,
      driver: d.driverVersion,
      dtype: 'float32',
      timer: 'gpu-timer',
      details: {
        computeCapability: d.computeCapability,
        multiprocessors: d.multiprocessors,
        totalMemoryBytes: d.totalMemoryBytes,
        l2CacheBytes: d.l2CacheBytes,
        sharedMemPerBlockOptinBytes: d.sharedMemPerBlockOptinBytes,
        runtimeVersion: d.runtimeVersion,
        variants: this.variants,
        dtypes: Object.fromEntries(this.variants.map((v) => [v, this.dtypes(v)])),
        tiledMaxD: addon.tiledMaxD,
        ...(this.table ? { kernelVersions: this.table.versions, knobs: this.table.knobs } : {}),
      },
    };
  }

  private capabilities(): CudaCapabilities {
    const addon = this.addon;
    const p = this.probe();
    return {
      variants: this.variants,
      maxD: { naive: NAIVE_MAX_D, tiled: addon?.tiledMaxD ?? 0 },
      totalMemoryBytes: 'device' in p ? p.device.totalMemoryBytes : null,
      scratchBytes: (problem, variant) => (addon && (variant === 'naive' || variant === 'tiled') ? addon.scratchBytes(problem, variant) : 0),
    };
  }

  limits(variant: Variant): Limits {
    const caps = this.capabilities();
    return { maxD: caps.maxD[splitVariant(variant).base] ?? 0, causal: true, maxBufferBytes: caps.totalMemoryBytes ?? 0 };
  }

  /** The variant's base and choice in `dtype`, or the one line saying why it is not one of this backend's. */
  private parse(variant: Variant, dtype: Dtype): CudaVariant | string {
    try {
      return parseCudaVariant(variant, this.table, dtype);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * The dtypes `variant` takes: naive every one; tiled and tiled@… those in which every version it names takes the
   * dtype (version 1 of each stage takes all three); none for a variant this build lacks or cannot parse.
   */
  dtypes(variant: Variant): readonly Dtype[] {
    if (!this.variants.includes(splitVariant(variant).base)) return [];
    return DTYPES.filter((dtype) => typeof this.parse(variant, dtype) !== 'string');
  }

  check(problem: Problem, variant: Variant): string | null {
    if ('reason' in this.load) return this.load.reason;
    const parsed = this.parse(variant, problem.dtype);
    if (typeof parsed === 'string') return parsed;
    const p = this.probe();
    return checkProblem(problem, parsed.base, this.capabilities()) ?? ('reason' in p ? p.reason : null);
  }

  async open(problem: Problem, variant: Variant): Promise<Session> {
    const why = this.check(problem, variant);
    if (why) throw new BackendError(why);
    const { base, choice } = this.parse(variant, problem.dtype) as CudaVariant;
    const addon = this.addon!;
    let native;
    try {
      native = choice ? new addon.Session(problem, 'tiled', choice) : new addon.Session(problem, base as 'naive' | 'tiled');
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw OUT_OF_MEMORY.test(msg) ? new BackendError(msg) : e;
    }
    const session = new CudaSession(problem, variant, native, addon.l2Scrub === true, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    return session;
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions]) await s.dispose();
  }
}
