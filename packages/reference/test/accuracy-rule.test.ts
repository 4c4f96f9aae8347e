/**
 * The accuracy rule (max and relative-L2 error within 2× the float32 textbook's, plus floors). It must catch the failure
 * it exists for — P = exp2(S·(scale·log2e) − lse·log2e) with the scale, log2e and the lse each rounded to one float32
 * (as the CUDA kernels computed it): at large scores those roundings, |S|·2⁻²⁴ each, become a common relative error
 * of every P in a row — and pass both float32 rounding of the exact answer and the same kernel with the lse kept as
 * a pair (hi + lo) and S − lse formed before exponentiating.
 */
import { expect, test } from 'vitest';
import type { Problem, RandomInputs } from '../src/index.js';
import { applyRule, compareOutputs, compareTextbook, freshSeed, makeProblem, randomInputs, referenceOutputs, ruleFloor, ruleInputs, textbookOutputs, visibleKeys } from '../src/index.js';

const f = Math.fround;

type Kernel = 'folded-one-float-lse' | 'lse-pair' | 'rounded-exact';

/** lse and O of a float32 kernel: S by fma dot products, lse = fl(m + fl(log l)), then P by `kernel`'s formula. */
function float32Forward(p: Problem, x: RandomInputs, kernel: Kernel): { lse: Float32Array; o: Float32Array } {
  const lse = new Float32Array(p.bh * p.nq);
  const o = new Float32Array(p.bh * p.nq * p.dv);
  const scale = f(p.scale);
  const c2 = f(p.scale * Math.LOG2E);
  const log2e = f(Math.LOG2E);
  for (let r = 0; r < p.bh * p.nq; r++) {
    const b = Math.floor(r / p.nq);
    const raw: number[] = [];
    for (let j = 0; j < visibleKeys(p, r - b * p.nq); j++) {
      let s = 0;
      for (let c = 0; c < p.d; c++) s = f(s + x.q[r * p.d + c]! * x.k[(b * p.nk + j) * p.d + c]!);
      raw.push(s);
    }
    if (raw.length === 0) continue;
    const m = Math.max(...raw.map((s) => f(s * scale)));
    const l = raw.reduce((acc, s) => f(acc + f(Math.exp(f(f(s * scale) - m)))), 0);
    const L = f(Math.log(l));
    const hi = f(m + L);
    const lo = f(f(m - hi) + L);
    lse[r] = hi;
    raw.forEach((s, j) => {
      const prob = kernel === 'lse-pair' ? f(Math.exp(f(f(f(s * scale) - hi) - lo))) : f(2 ** f(s * c2 - f(hi * log2e)));
      for (let c = 0; c < p.dv; c++) o[r * p.dv + c] = f(o[r * p.dv + c]! + prob * x.v[(b * p.nk + j) * p.dv + c]!);
    });
  }
  return { lse, o };
}

async function ruleOnForward(scoreStd: number, seed: number, kernel: Kernel) {
  const p = makeProblem({ bh: 2, nq: 160, d: 128, causal: true });
  const x = randomInputs(p, seed, { scoreStd });
  const ref = await referenceOutputs(p, x, 'fwd');
  const textbook = compareTextbook(await textbookOutputs(p, x, 'fwd'), ref);
  const outputs = kernel === 'rounded-exact' ? { lse: Float32Array.from(ref.tensors.lse!), o: Float32Array.from(ref.tensors.o!) } : float32Forward(p, x, kernel);
  return applyRule(ruleInputs(compareOutputs(outputs, ref), textbook, ref))!;
}

test('a kernel folding scale, log2e and a one-float32 lse into exp2 passes at N(0,1) scores and fails at std 128', async () => {
  const seed = freshSeed();
  const small = await ruleOnForward(1, seed, 'folded-one-float-lse');
  expect(small.passed, `seed ${seed}: ${small.output} ratio ${small.ratio}`).toBe(true);
  for (const scoreStd of [128, 1024]) {
    const large = await ruleOnForward(scoreStd, seed, 'folded-one-float-lse');
    expect(large.output, `score std ${scoreStd}, seed ${seed}`).toBe('o');
    expect(large.passed, `score std ${scoreStd}, seed ${seed}: ratio ${large.ratio}`).toBe(false);
  }
});

test('the same kernel with the lse kept as a pair, and the rounded exact answer, pass at every score magnitude', async () => {
  const seed = freshSeed();
  for (const scoreStd of [1, 8, 128, 1024]) {
    for (const kernel of ['lse-pair', 'rounded-exact'] as const) {
      const r = await ruleOnForward(scoreStd, seed, kernel);
      expect(r.passed, `${kernel}, score std ${scoreStd}, seed ${seed}: ${r.output} ${r.metric} ratio ${r.ratio}`).toBe(true);
    }
  }
});

test('gradients share the floor of their largest scale; the worst output is reported', () => {
  const err = (maxAbs: number, textbookMaxAbs: number, refMaxAbs: number) => ({ maxAbs, textbookMaxAbs, relL2: 1e-7, textbookRelL2: 1e-7, refMaxAbs });
  const r = applyRule({ dq: err(1e-9, 0, 1e-6), dk: err(3e-5, 1e-5, 10), o: err(1e-7, 1e-7, 2) })!;
  expect(r.output).toBe('dk');
  expect(r.metric).toBe('maxAbs');
  expect(r.floor).toBeCloseTo(ruleFloor(10), 20);
  expect(r.ratio).toBeCloseTo(3e-5 / (2e-5 + ruleFloor(10)), 12);
  expect(r.passed).toBe(false);
  // dq alone would be judged against the gradients' scale (10), not its own (1e-6)
  expect(applyRule({ dq: err(1e-9, 0, 1e-6), dk: err(0, 0, 10) })!.passed).toBe(true);
});

test('a relative L2 error over twice the textbook error fails even when the max error is within it', () => {
  const r = applyRule({ o: { maxAbs: 1e-4, textbookMaxAbs: 9e-5, relL2: 1.6e-5, textbookRelL2: 2.8e-6, refMaxAbs: 3 } })!;
  expect(r.metric).toBe('relL2');
  expect(r.passed).toBe(false);
});
