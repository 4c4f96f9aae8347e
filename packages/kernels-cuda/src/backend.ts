/**
 * The CUDA backend: the Backend contract over attn_cuda.node. Usable only where the addon was built (nvcc) and a
 * CUDA device answers; otherwise availability() says which of the two is missing, in one line.
 */
import type { Backend, BackendInfo, Limits, Problem, Session, Variant } from '@attn/reference';
import { BackendError } from '@attn/reference';
import type { Addon, AddonDeviceInfo, AddonLoad } from './addon.js';
import { loadAddon } from './addon.js';
import type { CudaCapabilities } from './check.js';
import { checkProblem } from './check.js';
import { CudaSession } from './session.js';

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
  private probed: Probe | undefined;
  private readonly sessions = new Set<CudaSession>();

  constructor(private readonly load: AddonLoad = loadAddon()) {
    this.variants = 'addon' in load && load.addon.tiledAvailable ? ['naive', 'tiled'] : ['naive'];
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
        tiledMaxD: addon.tiledMaxD,
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
    return { maxD: caps.maxD[variant] ?? 0, causal: true, maxBufferBytes: caps.totalMemoryBytes ?? 0 };
  }

  check(problem: Problem, variant: Variant): string | null {
    if ('reason' in this.load) return this.load.reason;
    const p = this.probe();
    return checkProblem(problem, variant, this.capabilities()) ?? ('reason' in p ? p.reason : null);
  }

  async open(problem: Problem, variant: Variant): Promise<Session> {
    const why = this.check(problem, variant);
    if (why) throw new BackendError(why);
    const addon = this.addon!;
    let native;
    try {
      native = new addon.Session(problem, variant as 'naive' | 'tiled');
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
