/**
 * Half precision: inputs are rounded to the dtype before anything sees them, the float64 reference is exact for those
 * rounded inputs, and the textbook computes in the dtype (P and dS rounded before their products, outputs rounded,
 * sums in float32). Its error is the dtype's (about 2⁻¹¹ relative for float16, 2⁻⁸ for bfloat16), and the exact
 * answer stored in the dtype passes the rule well within it.
 */
import { expect, test } from 'vitest';
import type { Dtype } from '../src/index.js';
import { applyRule, compareOutputs, freshSeed, makeProblem, randomInputs, referenceOutputs, roundTo, ruleInputs, textbookErrors } from '../src/index.js';

async function setup(dtype: Dtype, seed: number) {
  const p = makeProblem({ bh: 2, nq: 96, nk: 80, d: 64, causal: true, dtype });
  const x = randomInputs(p, seed);
  const ref = await referenceOutputs(p, x, 'bwd');
  return { p, x, ref, textbook: await textbookErrors(ref, x) };
}

test('inputs are rounded to the dtype: every value is a float16 (bfloat16) number', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const x = randomInputs(makeProblem({ bh: 1, nq: 33, d: 8, dtype }), 5);
    for (const t of [x.q, x.k, x.v, x.dO]) for (const v of t) expect(roundTo(dtype, v)).toBe(v);
  }
});

test("the textbook's error is the dtype's: float16 about 1e-3 relative, bfloat16 about 1e-2, lse float32-sized", async () => {
  const seed = freshSeed();
  const f16 = (await setup('float16', seed)).textbook;
  const bf16 = (await setup('bfloat16', seed)).textbook;
  for (const o of ['o', 'dq', 'dk', 'dv'] as const) {
    expect(f16[o]!.relL2, `${o} float16, seed ${seed}`).toBeGreaterThan(1e-4);
    expect(f16[o]!.relL2, `${o} float16, seed ${seed}`).toBeLessThan(5e-3);
    expect(bf16[o]!.relL2, `${o} bfloat16, seed ${seed}`).toBeGreaterThan(2 * f16[o]!.relL2);
    expect(bf16[o]!.relL2, `${o} bfloat16, seed ${seed}`).toBeLessThan(4e-2);
  }
  expect(f16.lse!.relL2, `seed ${seed}`).toBeLessThan(1e-6);
});

test('the exact answer stored in the dtype passes the rule at under half the allowance', async () => {
  const seed = freshSeed();
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const { p, ref, textbook } = await setup(dtype, seed);
    const stored = Object.fromEntries(Object.entries(ref.tensors).map(([n, t]) => [n, Float32Array.from(t, (v) => (n === 'lse' ? v : roundTo(dtype, v)))]));
    const rule = applyRule(ruleInputs(compareOutputs(stored, ref), textbook), p.dtype)!;
    expect(rule.passed, `${dtype}, seed ${seed}: ${rule.output} ratio ${rule.ratio}`).toBe(true);
    expect(rule.ratio).toBeLessThan(0.5);
  }
});
