import type { Dtype } from './dtype.js';
import { isDtype } from './dtype.js';

/**
 * One attention problem: the shapes and options every backend agrees on.
 * Layout (row-major): Q [bh, nq, d], K [bh, nk, d], V [bh, nk, dv], dO and O [bh, nq, dv], lse [bh, nq].
 */
export interface Problem {
  /** batch × heads, flattened */
  readonly bh: number;
  readonly nq: number;
  readonly nk: number;
  readonly d: number;
  readonly dv: number;
  /** multiplies Q·Kᵀ; 1/sqrt(d) unless given */
  readonly scale: number;
  /** bottom-right aligned: query i sees key j iff j ≤ i + (nk − nq) */
  readonly causal: boolean;
  /** storage of Q, K, V, dO, O, dQ, dK, dV on the device (dtype.ts); lse and every accumulation stay float32 */
  readonly dtype: Dtype;
}

export interface ProblemInit {
  bh: number;
  nq: number;
  nk?: number;
  d: number;
  dv?: number;
  scale?: number;
  causal?: boolean;
  dtype?: Dtype;
}

export class ProblemError extends Error {
  override readonly name = 'ProblemError';
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ProblemError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Fills defaults (nk = nq, dv = d, scale = 1/sqrt(d), not causal, float32) and validates. */
export function makeProblem(init: ProblemInit): Problem {
  const d = positiveInteger('d', init.d);
  const scale = init.scale ?? 1 / Math.sqrt(d);
  if (!Number.isFinite(scale)) throw new ProblemError(`scale must be finite, got ${scale}`);
  return {
    bh: positiveInteger('bh', init.bh),
    nq: positiveInteger('nq', init.nq),
    nk: positiveInteger('nk', init.nk ?? init.nq),
    d,
    dv: positiveInteger('dv', init.dv ?? d),
    scale,
    causal: init.causal ?? false,
    dtype: dtypeOf(init.dtype),
  };
}

function dtypeOf(dtype: string | undefined): Dtype {
  if (dtype === undefined) return 'float32';
  if (!isDtype(dtype)) throw new ProblemError(`dtype must be float32, float16 or bfloat16, got '${dtype}'`);
  return dtype;
}

/** Number of keys query row i (0-based, within one bh) may see: keys 0 … visibleKeys−1. */
export function visibleKeys(problem: Problem, i: number): number {
  if (!problem.causal) return problem.nk;
  return Math.max(0, Math.min(problem.nk, i + problem.nk - problem.nq + 1));
}

export type TensorName = 'q' | 'k' | 'v' | 'dO' | 'lse' | 'o' | 'dq' | 'dk' | 'dv';

/** Shape of every tensor of a problem, in the layout above. */
export function tensorShape(problem: Problem, name: TensorName): number[] {
  const { bh, nq, nk, d, dv } = problem;
  switch (name) {
    case 'q':
    case 'dq':
      return [bh, nq, d];
    case 'k':
    case 'dk':
      return [bh, nk, d];
    case 'v':
    case 'dv':
      return [bh, nk, dv];
    case 'dO':
    case 'o':
      return [bh, nq, dv];
    case 'lse':
      return [bh, nq];
  }
}

export function tensorSize(problem: Problem, name: TensorName): number {
  return tensorShape(problem, name).reduce((a, b) => a * b, 1);
}

/**
 * FlashAttention's FLOP convention: forward 4·bh·nq·nk·d, lse 2·bh·nq·nk·d, backward 2.5 × forward; causal halves.
 * 'fwd' (stage 1 + stage 2, what a user calls the forward) counts as a forward, 4·bh·nq·nk·d: the lse pass is this
 * method's own overhead, not useful work, so its rate compares fairly with a one-pass forward (torch, FlashAttention).
 */
export type FlopStage = 'lse' | 'forward' | 'fwd' | 'backward';
export function flops(problem: Problem, stage: FlopStage): number {
  const { bh, nq, nk, d } = problem;
  const pairs = bh * nq * nk * (problem.causal ? 0.5 : 1);
  const forward = 4 * pairs * d;
  switch (stage) {
    case 'lse':
      return 2 * pairs * d;
    case 'forward':
      return forward;
    case 'fwd':
      return forward;
    case 'backward':
      return 2.5 * forward;
  }
}
