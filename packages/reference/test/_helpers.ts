/**
 * Shared by the tests: float64 inputs, an independent whole-matrix float64 implementation, max-norm helpers, and a
 * session whose read-back is tampered with.
 */
import type { FloatArray, OutputName, Problem, Session } from '../src/index.js';
import { Rng, fill, tensorSize } from '../src/index.js';

export interface Float64Inputs {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  dO: Float64Array;
}

/** N(0,1) float64 inputs (the FD tests want inputs that are not float32-rounded). */
export function float64Inputs(p: Problem, seed: number): Float64Inputs {
  const rng = new Rng(seed);
  const make = (name: 'q' | 'k' | 'v' | 'dO'): Float64Array => {
    const a = new Float64Array(tensorSize(p, name));
    fill(a, rng);
    return a;
  };
  const q = make('q');
  const k = make('k');
  const v = make('v');
  const dO = make('dO');
  return { q, k, v, dO };
}

/** relative L2 distance ‖a − b‖ / ‖b‖ (‖a − b‖ when b = 0) */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d2 = 0;
  let b2 = 0;
  for (let i = 0; i < b.length; i++) {
    d2 += (a[i]! - b[i]!) ** 2;
    b2 += b[i]! ** 2;
  }
  return b2 > 0 ? Math.sqrt(d2 / b2) : Math.sqrt(d2);
}

export function hasNaN(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i])) return true;
  return false;
}

export interface AllOutputs {
  lse: Float64Array;
  o: Float64Array;
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

/**
 * Attention written the textbook way, independently of src/rows.ts: the whole score matrix per bh, a softmax
 * normalised directly (max-subtracted, divided by the row sum), O = P V, and the backward in matrix form with
 * D taken as rowsum(P ∘ dP) instead of rowsum(dO ∘ O).
 */
export function matrixAttention(p: Problem, x: Float64Inputs): AllOutputs {
  const { bh, nq, nk, d, dv, scale } = p;
  const out: AllOutputs = {
    lse: new Float64Array(bh * nq),
    o: new Float64Array(bh * nq * dv),
    dq: new Float64Array(bh * nq * d),
    dk: new Float64Array(bh * nk * d),
    dv: new Float64Array(bh * nk * dv),
  };
  for (let b = 0; b < bh; b++) {
    const P: number[][] = [];
    for (let i = 0; i < nq; i++) {
      const row = new Array<number>(nk).fill(0);
      const s = new Array<number>(nk).fill(-Infinity);
      for (let j = 0; j < nk; j++) {
        if (p.causal && j > i + nk - nq) continue;
        let acc = 0;
        for (let c = 0; c < d; c++) acc += x.q[(b * nq + i) * d + c]! * x.k[(b * nk + j) * d + c]!;
        s[j] = scale * acc;
      }
      const m = Math.max(...s);
      if (m === -Infinity) {
        out.lse[b * nq + i] = -Infinity;
      } else {
        let z = 0;
        for (let j = 0; j < nk; j++) z += Math.exp(s[j]! - m);
        for (let j = 0; j < nk; j++) row[j] = Math.exp(s[j]! - m) / z;
        out.lse[b * nq + i] = m + Math.log(z);
      }
      P.push(row);
    }
    for (let i = 0; i < nq; i++) {
      for (let e = 0; e < dv; e++) {
        let acc = 0;
        for (let j = 0; j < nk; j++) acc += P[i]![j]! * x.v[(b * nk + j) * dv + e]!;
        out.o[(b * nq + i) * dv + e] = acc;
      }
    }
    for (let i = 0; i < nq; i++) {
      const dP = new Array<number>(nk).fill(0);
      let D = 0;
      for (let j = 0; j < nk; j++) {
        let acc = 0;
        for (let e = 0; e < dv; e++) acc += x.dO[(b * nq + i) * dv + e]! * x.v[(b * nk + j) * dv + e]!;
        dP[j] = acc;
        D += P[i]![j]! * acc;
      }
      for (let j = 0; j < nk; j++) {
        const pij = P[i]![j]!;
        const dS = pij * (dP[j]! - D);
        for (let c = 0; c < d; c++) {
          out.dq[(b * nq + i) * d + c] += scale * dS * x.k[(b * nk + j) * d + c]!;
          out.dk[(b * nk + j) * d + c] += scale * dS * x.q[(b * nq + i) * d + c]!;
        }
        for (let e = 0; e < dv; e++) out.dv[(b * nk + j) * dv + e] += pij * x.dO[(b * nq + i) * dv + e]!;
      }
    }
  }
  return out;
}

/** The reference session with its read-back tampered with. */
export function broken(session: Session, tamper: (out: Partial<Record<OutputName, FloatArray>>) => void): Session {
  return {
    get problem() { return session.problem; },
    get variant() { return session.variant; },
    get deviceBytes() { return session.deviceBytes; },
    write: (t) => session.write(t),
    poison: () => session.poison(),
    run: (s) => session.run(s),
    time: (s, o) => session.time(s, o),
    dispose: () => session.dispose(),
    read: async (names) => {
      const out = await session.read(names);
      tamper(out as Partial<Record<OutputName, FloatArray>>);
      return out;
    },
  };
}
