/** The analytic backward equals the gradient of L = Σ O∘dO, by 4th-order (Richardson) central differences in float64. */
import { describe, expect, it } from 'vitest';
import type { Problem } from '../src/index.js';
import { forwardFull, freshSeed, makeProblem, referenceOutputs } from '../src/index.js';
import { float64Inputs } from './_helpers.js';

const PROBLEMS: Problem[] = [
  makeProblem({ bh: 2, nq: 5, nk: 7, d: 3 }),
  makeProblem({ bh: 1, nq: 7, nk: 4, d: 5, causal: true }), // rows 0–2 see no key
  makeProblem({ bh: 2, nq: 4, nk: 9, d: 3, dv: 2, causal: true, scale: 0.8 }),
];

function loss(p: Problem, q: Float64Array, k: Float64Array, v: Float64Array, dO: Float64Array): number {
  const { o } = forwardFull(p, { q, k, v });
  let s = 0;
  for (let i = 0; i < o.length; i++) s += o[i]! * dO[i]!;
  return s;
}

/** dL/dx_i by Richardson extrapolation of central differences: error O(h⁴) + rounding O(ε·L/h). */
function numericGradient(x: Float64Array, f: () => number, h: number): Float64Array {
  const g = new Float64Array(x.length);
  const central = (i: number, step: number): number => {
    const x0 = x[i]!;
    x[i] = x0 + step;
    const up = f();
    x[i] = x0 - step;
    const down = f();
    x[i] = x0;
    return (up - down) / (2 * step);
  };
  for (let i = 0; i < x.length; i++) g[i] = (4 * central(i, h / 2) - central(i, h)) / 3;
  return g;
}

describe('finite differences of Σ O∘dO agree with the analytic backward to ≥ 8 significant digits', () => {
  for (const p of PROBLEMS) {
    it(`bh=${p.bh} nq=${p.nq} nk=${p.nk} d=${p.d} dv=${p.dv}${p.causal ? ' causal' : ''}`, async () => {
      const seed = freshSeed();
      const x = float64Inputs(p, seed);
      const analytic = await referenceOutputs(p, x, 'bwd');
      const f = (): number => loss(p, x.q, x.k, x.v, x.dO);
      for (const [name, input] of [['dq', x.q], ['dk', x.k], ['dv', x.v]] as const) {
        const numeric = numericGradient(input, f, 1e-3);
        const exact = analytic.tensors[name]!;
        let scale = 0;
        for (const a of exact) scale = Math.max(scale, Math.abs(a));
        expect(scale, `${name} is not all zero (seed ${seed})`).toBeGreaterThan(0.01);
        for (let i = 0; i < exact.length; i++) {
          expect(Math.abs(numeric[i]! - exact[i]!), `${name}[${i}]: numeric ${numeric[i]} vs analytic ${exact[i]} (seed ${seed})`).toBeLessThanOrEqual(1e-8 * scale);
        }
      }
    });
  }
});
