/**
 * Shared by the tests: one backend per test file (one device per worker process), and the skip rule — a missing
 * adapter skips with its reason, except under CI where the tests run and fail.
 */
import type { Backend, FloatArray, OutputName, Pipeline, Problem, ProblemInit, RandomInputs, Variant } from '@attn/reference';
import { checkSession, freshSeed, makeProblem, randomInputs, visibleKeys } from '@attn/reference';
import { expect } from 'vitest';
import { createWgslBackend } from '../src/index.js';

export const backend: Backend = createWgslBackend();
export const unavailable: string | null = await backend.availability();
/** true: skip GPU tests (no adapter, not CI) */
export const skipGpu = unavailable !== null && !process.env.CI;

export function problem(init: ProblemInit): Problem {
  return makeProblem(init);
}

/** Opens a session, checks `pipeline` on fresh seeded inputs against the float64 reference, disposes. */
export async function checkCase(p: Problem, variant: Variant, pipeline: Pipeline, seed = freshSeed()): Promise<string[]> {
  const session = await backend.open(p, variant);
  try {
    const result = await checkSession(session, { pipeline, seed });
    return result.failures;
  } finally {
    await session.dispose();
  }
}

/**
 * The correctness shapes: N ∈ {1, 17, 64, 129} with nq ≠ nk (nq > nk gives causal rows that see no key), d ∈ {8, 40,
 * 64, 128} plus odd d and dv ≠ d, bh ∈ {1, 3}. Every stage test runs each shape causal and not, naive and tiled.
 */
export const SHAPES: readonly ProblemInit[] = [
  { bh: 1, nq: 1, nk: 1, d: 8 },
  { bh: 3, nq: 17, nk: 64, d: 40 },
  { bh: 1, nq: 129, nk: 17, d: 64 },
  { bh: 3, nq: 64, nk: 129, d: 8 },
  { bh: 1, nq: 17, nk: 17, d: 128 },
  { bh: 1, nq: 64, nk: 17, d: 3, dv: 40 },
];

/**
 * Backward shapes: SHAPES with the 1 × 1 problem replaced by nq = 1, nk = 17. With one key, P = 1 and dS = P·(dP − D)
 * is exactly 0 (D = dO·O = dO·V = dP), so dQ and dK are zero up to rounding and their relative error is meaningless.
 */
export const BACKWARD_SHAPES: readonly ProblemInit[] = [{ bh: 1, nq: 1, nk: 17, d: 8 }, ...SHAPES.slice(1)];

export const VARIANTS = ['naive', 'tiled'] as const;

export interface Case {
  name: string;
  problem: Problem;
  variant: (typeof VARIANTS)[number];
}

export function cases(shapes: readonly ProblemInit[] = SHAPES): Case[] {
  const out: Case[] = [];
  for (const init of shapes) {
    for (const causal of [false, true]) {
      for (const variant of VARIANTS) {
        const p = makeProblem({ ...init, causal });
        out.push({ name: `${variant} bh=${p.bh} nq=${p.nq} nk=${p.nk} d=${p.d} dv=${p.dv}${causal ? ' causal' : ''}`, problem: p, variant });
      }
    }
  }
  return out;
}

/**
 * Times lse → forward → backward for 11 samples (more than one submit's worth: 8 runs per submit) and checks the
 * shape of the answer: one finite positive sample per run and per stage, stages adding up within each run's total.
 * Returns the source the timings came from.
 */
export async function expectPerStageTimings(timed: Backend, variant: Variant): Promise<string> {
  const p = problem({ bh: 2, nq: 33, nk: 40, d: 16, causal: true });
  const s = await timed.open(p, variant);
  try {
    await s.write(randomInputs(p, 99));
    const stages = ['lse', 'forward', 'backward'] as const;
    const t = await s.time(stages, { warmup: 2, samples: 11 });
    expect(t.source).toBe((await timed.info()).timer);
    expect(t.totalMs).toHaveLength(11);
    for (const stage of stages) {
      const per = t.perStageMs[stage]!;
      expect(per).toHaveLength(11);
      expect(per.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
    }
    t.totalMs.forEach((total, i) => {
      const sum = stages.reduce((acc, st) => acc + t.perStageMs[st]![i]!, 0);
      expect(total).toBeGreaterThanOrEqual(sum * 0.999);
    });
    return t.source;
  } finally {
    await s.dispose();
  }
}

// ---- TEMPORARY: a local float32 textbook and FlashAttention's gate, until @attn/reference exports its own (then
// this block goes and the score-magnitude test uses the reference's).

const f32 = Math.fround;

/** a·b over n elements in float32: products and partial sums each rounded, left to right. */
function dot32(a: FloatArray, aOff: number, b: FloatArray, bOff: number, n: number): number {
  let s = 0;
  for (let c = 0; c < n; c++) s = f32(s + f32(a[aOff + c]! * b[bOff + c]!));
  return s;
}

/**
 * Plain float32 attention, every operation rounded to float32: S = Q·Kᵀ·scale, the max-subtracted softmax
 * P = exp(S − m) / Σ, O = P·V, lse = m + log Σ; D = rowsum(dO∘O), dS = P∘(dP − D), dQ = scale·dS·K,
 * dK = scale·dSᵀ·Q, dV = Pᵀ·dO. Causal rows that see no key get lse = −inf and zero outputs.
 */
export function textbookOutputs(p: Problem, x: RandomInputs): Record<OutputName, Float64Array> {
  const { bh, nq, nk, d, dv, scale } = p;
  const out = {
    lse: new Float64Array(bh * nq), o: new Float64Array(bh * nq * dv), dq: new Float64Array(bh * nq * d),
    dk: new Float64Array(bh * nk * d), dv: new Float64Array(bh * nk * dv),
  };
  const P = new Float64Array(nq * nk);
  const dS = new Float64Array(nq * nk);
  const s = new Float64Array(nk);
  for (let b = 0; b < bh; b++) {
    P.fill(0);
    dS.fill(0);
    for (let i = 0; i < nq; i++) {
      const r = b * nq + i;
      const count = visibleKeys(p, i);
      if (count === 0) {
        out.lse[r] = -Infinity;
        continue;
      }
      let m = -Infinity;
      for (let j = 0; j < count; j++) {
        s[j] = f32(dot32(x.q, r * d, x.k, (b * nk + j) * d, d) * scale);
        if (s[j]! > m) m = s[j]!;
      }
      let sum = 0;
      for (let j = 0; j < count; j++) {
        s[j] = f32(Math.exp(f32(s[j]! - m)));
        sum = f32(sum + s[j]!);
      }
      out.lse[r] = f32(m + f32(Math.log(sum)));
      for (let j = 0; j < count; j++) P[i * nk + j] = f32(s[j]! / sum);
      for (let c = 0; c < dv; c++) {
        let acc = 0;
        for (let j = 0; j < count; j++) acc = f32(acc + f32(P[i * nk + j]! * x.v[(b * nk + j) * dv + c]!));
        out.o[r * dv + c] = acc;
      }
      const delta = dot32(x.dO, r * dv, out.o, r * dv, dv);
      for (let j = 0; j < count; j++) {
        const dp = dot32(x.dO, r * dv, x.v, (b * nk + j) * dv, dv);
        dS[i * nk + j] = f32(P[i * nk + j]! * f32(dp - delta));
      }
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let j = 0; j < count; j++) acc = f32(acc + f32(dS[i * nk + j]! * x.k[(b * nk + j) * d + c]!));
        out.dq[r * d + c] = f32(scale * acc);
      }
    }
    for (let j = 0; j < nk; j++) {
      const kr = b * nk + j;
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let i = 0; i < nq; i++) acc = f32(acc + f32(dS[i * nk + j]! * x.q[(b * nq + i) * d + c]!));
        out.dk[kr * d + c] = f32(scale * acc);
      }
      for (let c = 0; c < dv; c++) {
        let acc = 0;
        for (let i = 0; i < nq; i++) acc = f32(acc + f32(P[i * nk + j]! * x.dO[(b * nq + i) * dv + c]!));
        out.dv[kr * dv + c] = acc;
      }
    }
  }
  return out;
}

/** float32 ulps of an output's scale (max |reference|) that every kernel may add to twice the textbook's error */
export const GATE_FLOOR_ULPS = 4;

export interface GateResult {
  /** max |kernel − float64| over the finite reference entries; Infinity when a non-finite entry disagrees */
  kernel: number;
  /** max |textbook − float64| */
  textbook: number;
  floor: number;
  pass: boolean;
}

function maxAbsError(a: FloatArray, ref: Float64Array): number {
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    if (!Number.isFinite(r)) {
      if (a[i] !== r) return Infinity;
      continue;
    }
    const d = Math.abs(a[i]! - r);
    if (Number.isNaN(d)) return NaN;
    if (d > e) e = d;
  }
  return e;
}

/** FlashAttention's rule: max |kernel − float64| ≤ 2·max |textbook − float64| + GATE_FLOOR_ULPS ulps of the output's scale. */
export function gate(kernel: FloatArray, textbook: Float64Array, reference: Float64Array): GateResult {
  let scale = 0;
  for (const r of reference) if (Number.isFinite(r)) scale = Math.max(scale, Math.abs(r));
  const floor = GATE_FLOOR_ULPS * 2 ** -23 * scale;
  const k = maxAbsError(kernel, reference);
  const t = maxAbsError(textbook, reference);
  return { kernel: k, textbook: t, floor, pass: k <= 2 * t + floor };
}
