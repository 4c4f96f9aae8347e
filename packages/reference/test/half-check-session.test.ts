/**
 * checkSession in a half dtype: outputs stored in the dtype (the exact answer rounded to it) pass — the fixed relative
 * L2 tolerances are float32 sizes and do not apply, the rule (floor one ulp of the dtype) judges — while outputs off
 * by more than the dtype's rounding still fail the rule.
 */
import { afterAll, expect, it } from 'vitest';
import type { Dtype, OutputName } from '../src/index.js';
import { checkSession, createReferenceBackend, makeProblem, roundTo } from '../src/index.js';
import { broken } from './_helpers.js';

const backend = createReferenceBackend();
afterAll(() => backend.close());

const seed = 777;

async function check(dtype: Dtype, tamper: (name: OutputName, x: number) => number) {
  const p = makeProblem({ bh: 2, nq: 40, nk: 33, d: 16, causal: true, dtype });
  const session = broken(await backend.open(p, 'exact'), (out) => {
    for (const name of Object.keys(out) as OutputName[]) out[name] = Float32Array.from(out[name]!, (x) => (name === 'lse' ? x : tamper(name, x)));
  });
  return checkSession(session, { pipeline: 'bwd', seed });
}

it('passes outputs stored in the dtype, though their relative L2 error exceeds the float32 tolerances', async () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const r = await check(dtype, (_, x) => roundTo(dtype, x));
    expect(r.failures, dtype).toEqual([]);
    expect(r.errors.o!.relL2, dtype).toBeGreaterThan(1e-5); // over TOLERANCE.o: judged by the rule alone
    expect(r.rule!.passed).toBe(true);
  }
});

it('fails outputs off by a few ulps of the dtype, by the rule', async () => {
  const r = await check('float16', (_, x) => roundTo('float16', x * (1 + 2 ** -8)));
  expect(r.passed).toBe(false);
  expect(r.failures.some((l) => /max\|error\|| L2 error/.test(l))).toBe(true);
  expect(r.failures.every((l) => !/tolerance/.test(l))).toBe(true);
});
