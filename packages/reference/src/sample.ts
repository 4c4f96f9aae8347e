import type { Problem } from './problem.js';
import { tensorSize } from './problem.js';
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

/** Float32 N(0, std²) inputs of a problem, drawn in the order q, k, v, dO from one seeded stream. */
export function randomInputs(problem: Problem, seed: number, dist: Distribution = { kind: 'normal' }): RandomInputs {
  const rng = new Rng(seed);
  const make = (name: 'q' | 'k' | 'v' | 'dO'): Float32Array => {
    const t = new Float32Array(tensorSize(problem, name));
    fill(t, rng, dist);
    return t;
  };
  const q = make('q');
  const k = make('k');
  const v = make('v');
  const dO = make('dO');
  return { q, k, v, dO };
}
