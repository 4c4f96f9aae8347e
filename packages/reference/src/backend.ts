/**
 * The Backend contract: implemented alike by the float64 reference, the CUDA addon and the WGSL host.
 * The harness talks to every backend through these types only and never asks which one it has.
 *
 * Life cycle: backend.open(problem, variant) allocates device state for one problem size and returns a Session;
 * a Session keeps its tensors on the device between calls, so inputs are written once and stages run, are timed and
 * are read back as often as the caller likes.
 */
import type { Dtype } from './dtype.js';
import type { Problem, TensorName } from './problem.js';
import type { KernelVersion, VariantKnob } from './variant.js';

export type FloatArray = Float32Array | Float64Array;

/**
 * What runs: a base name the backend lists in `Backend.variants` — naive (scores in global memory, O(N²) extra),
 * tiled (tiles on chip, O(N)), exact (the float64 reference); a peer lists its own (torch: efficient, math, …) —
 * optionally followed by '@' and a choice the backend parses (kernel versions, knobs), e.g. 'tiled@fwd3'.
 */
export type Variant = string;

/** 'tiled@fwd3' → { base: 'tiled', choice: 'fwd3' }; 'naive' → { base: 'naive', choice: null }. */
export function splitVariant(variant: Variant): { base: string; choice: string | null } {
  const at = variant.indexOf('@');
  return at < 0 ? { base: variant, choice: null } : { base: variant.slice(0, at), choice: variant.slice(at + 1) };
}

/** The three stages of the algorithm (docs/algorithm.md). 'backward' includes the D = rowsum(dO∘O) pre-pass. */
export type KernelStage = 'lse' | 'forward' | 'backward';

/** What a user asks for: 'fwd' = lse then forward; 'bwd' = lse, forward, then backward. */
export type Pipeline = 'lse' | 'fwd' | 'bwd';
export const PIPELINE_STAGES: Readonly<Record<Pipeline, readonly KernelStage[]>> = {
  lse: ['lse'],
  fwd: ['lse', 'forward'],
  bwd: ['lse', 'forward', 'backward'],
};

export type InputName = Extract<TensorName, 'q' | 'k' | 'v' | 'dO' | 'lse' | 'o'>;
export type OutputName = Extract<TensorName, 'lse' | 'o' | 'dq' | 'dk' | 'dv'>;
/** Outputs each stage writes (and so reads back and checks). */
export const STAGE_OUTPUTS: Readonly<Record<KernelStage, readonly OutputName[]>> = {
  lse: ['lse'],
  forward: ['o'],
  backward: ['dq', 'dk', 'dv'],
};

export type TimerSource = 'gpu-timer' | 'wall';

export interface BackendInfo {
  backend: string;
  /** the package version, or the addon's build id */
  version: string;
  /** device or adapter name, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 19.1.7, 256 bits)" */
  device: string;
  driver?: string;
  dtype: 'float32' | 'float64';
  timer: TimerSource;
  /** anything else worth recording (limits, features, compute capability) */
  details?: Record<string, unknown>;
}

export interface Limits {
  /** largest head dim d (and dv) this variant takes */
  maxD: number;
  causal: boolean;
  /** largest single device buffer the backend can allocate, in bytes */
  maxBufferBytes: number;
}

/**
 * 'cold': before every timed run, outside its timed region, the backend overwrites a scratch buffer at least twice the
 * size of the device's last-level cache, so no run finds its inputs there (what FlashAttention's and triton's
 * benchmarks do). 'warm': runs follow each other and may find the previous run's data in cache.
 */
export type L2Mode = 'cold' | 'warm';

export interface TimeOptions {
  /** runs discarded before timing */
  warmup: number;
  /** timed runs */
  samples: number;
  /** cache state before each timed run; absent: 'warm' */
  l2?: L2Mode;
}

export interface StageTimings {
  source: TimerSource;
  /** one entry per timed run of all requested stages back to back, in milliseconds */
  totalMs: number[];
  /** the same runs split per stage, when the backend can (GPU timestamps around each stage) */
  perStageMs: Partial<Record<KernelStage, number[]>>;
  /** what the backend did before each timed run: 'cold' only when it scrubbed the cache; absent: 'warm' */
  l2?: L2Mode;
}

export interface Session {
  readonly problem: Problem;
  readonly variant: Variant;
  /**
   * What each stage runs for this problem, after the backend resolved the variant (versions, fallbacks, tile shapes),
   * e.g. { lse: 'lse3 shape1', forward: 'fwd4 shape1', backward: 'bwd1 (D=256: bwd3 has no such bucket)' }.
   * Recorded with every result; absent where a backend has one kernel per stage.
   */
  readonly kernels?: Partial<Record<KernelStage, string>>;
  /** bytes of device memory this session allocated: inputs, outputs and scratch (naive's score matrices) */
  readonly deviceBytes: number;
  /**
   * Copy tensors to the device. q, k, v (and dO before backward); lse and o may be written to run a later stage alone.
   * Any float is taken, NaN and ±inf included, as a kernel would take it: the caller owns the non-finite policy
   * (finite.ts has the shared scans; attn run refuses non-finite inputs unless --allow-nonfinite).
   */
  write(tensors: Partial<Record<InputName, FloatArray>>): Promise<void>;
  /** Fill every output (lse, o, dq, dk, dv) with NaN, so an element a kernel forgets to write is caught. */
  poison(): Promise<void>;
  /** Run stages in order on the device-resident tensors; resolves when the device is done. */
  run(stages: readonly KernelStage[]): Promise<void>;
  /** Copy outputs back: Float32Array from GPU backends, Float64Array from the reference. */
  read<N extends OutputName>(names: readonly N[]): Promise<Record<N, FloatArray>>;
  /** Run `stages` back to back warmup + samples times; time each timed run with the device's own clock where it has one. */
  time(stages: readonly KernelStage[], options: TimeOptions): Promise<StageTimings>;
  /** Free device memory. The session is unusable afterwards. */
  dispose(): Promise<void>;
}

export interface Backend {
  /** 'reference', 'cuda', 'wgsl' */
  readonly name: string;
  /** base names; a kernel backend also takes 'base@choice' (variant.ts) against the tables below */
  readonly variants: readonly Variant[];
  /** the version table of the tiled kernels (variant.ts); absent where a backend has one kernel per stage */
  readonly kernelVersions?: readonly KernelVersion[];
  /** the knobs a variant choice may set */
  readonly knobs?: readonly VariantKnob[];
  /**
   * The storage dtypes (Problem.dtype) a variant takes, e.g. cuda 'tiled@fwd4' → ['float32']; check() refuses the
   * others in one line. Absent: the backend does not say ahead (check() still refuses what it cannot run).
   */
  dtypes?(variant: Variant): readonly Dtype[];
  /** null when usable here; otherwise one line saying why not ("no CUDA device found", "CUDA backend not built: nvcc not found"). */
  availability(): Promise<string | null>;
  info(): Promise<BackendInfo>;
  limits(variant: Variant): Limits;
  /** Why this problem cannot run on this variant (d over the limit, buffers too large), or null. Allocates nothing. */
  check(problem: Problem, variant: Variant): string | null;
  open(problem: Problem, variant: Variant): Promise<Session>;
  /** Release the device. */
  close(): Promise<void>;
  /** Present on a backend whose forward is one fused pass (a peer such as torch SDPA); see FusedForward. */
  readonly fusedForward?: FusedForward;
}

/**
 * A backend whose forward is one fused pass: it runs and times 'lse' and 'forward' only together (['lse'] or
 * ['forward'] alone is refused, so there is no per-stage split), and runs 'backward' alone only after a forward.
 */
export interface FusedForward {
  /**
   * The forward outputs (of lse, o) this variant computes itself. Any other forward output it returns is a stand-in
   * that lets a reference check of the backward run (torch's math SDPA returns no lse, so one is rebuilt from the
   * same scores): read back, never judged.
   */
  ownOutputs(variant: Variant): readonly OutputName[];
}

/** A problem a backend refuses (limits, memory, missing device): the CLI turns it into exit code 2 and one line. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
}
