import type { Problem } from './problem.js';
import { tensorSize } from './problem.js';
import { roundArray } from './dtype.js';
import { Rng } from './rng.js';

export type Distribution = { kind: 'normal'; std?: number } | { kind: 'uniform'; low?: number; high?: number };

export function fill(out: Float32Array | Float64Array, rng: Rng, dist: Distribution = { kind: 'normal' }): void {
  if (dist.kind === 'normal') {
    const std = dist.std ?? 1;
    for (let i = 0; i < out.length; i++) out[i] = std * rng.normal();
  } else {
    const low = dist.low ?? 0;
    const span = (dist.high ?? 1) - low;
    for (let i = 0; i < out.length; i++) out[i] = low + span * rng.uniform();
  }
}

export interface RandomInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dO: Float32Array;
}

export interface InputOptions {
  /**
   * Standard deviation of the scaled scores S = scale·Q·Kᵀ: Q and K are drawn as sqrt(scoreStd)·N(0,1), so with the
   * default scale 1/sqrt(d) the scores have std scoreStd (rows reach about ±4·scoreStd). Default 1: N(0,1) inputs.
   * Large values model "attention logit growth"; V and dO stay N(0,1).
   */
  scoreStd?: number;
}

/**
 * Float32 inputs of a problem, drawn in the order q, k, v, dO from one seeded stream: N(0,1), with Q and K scaled by
 * sqrt(scoreStd) (InputOptions), then rounded to the problem's dtype (float16 and bfloat16 values held exactly in
 * float32), so the float64 reference computes the exact answer for what the device stores.
 */
export function randomInputs(problem: Problem, seed: number, options: InputOptions = {}): RandomInputs {
  const scoreStd = options.scoreStd ?? 1;
  if (!(scoreStd > 0) || !Number.isFinite(scoreStd)) throw new RangeError(`randomInputs: scoreStd must be a positive number, got ${scoreStd}`);
  const rng = new Rng(seed);
  const make = (name: 'q' | 'k' | 'v' | 'dO', std: number): Float32Array => {
    const t = new Float32Array(tensorSize(problem, name));
    fill(t, rng, { kind: 'normal', std });
    return roundArray(problem.dtype, t);
  };
  const qk = Math.sqrt(scoreStd);
  const q = make('q', qk);
  const k = make('k', qk);
  const v = make('v', 1);
  const dO = make('dO', 1);
  return { q, k, v, dO };
}
