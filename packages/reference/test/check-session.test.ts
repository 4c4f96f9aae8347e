/**
 * checkSession catches what a broken kernel does: unwritten elements, NaN, errors over tolerance or over twice the
 * float32 textbook's — one line each.
 */
import { afterAll, expect, it } from 'vitest';
import type { FloatArray, OutputName, Session } from '../src/index.js';
import { checkSession, createReferenceBackend, makeProblem, poisonArray, randomInputs, roundTo, textbookOutputs } from '../src/index.js';
import { broken } from './_helpers.js';

const backend = createReferenceBackend();
afterAll(() => backend.close());

const p = makeProblem({ bh: 2, nq: 33, nk: 20, d: 7, causal: true });
const seed = 4242;

it('reports unwritten dQ rows', async () => {
  const session = broken(await backend.open(p, 'exact'), (out) => poisonArray(out.dq!.subarray(40 * 7, 41 * 7)));
  const r = await checkSession(session, { pipeline: 'bwd', seed });
  expect(r.passed).toBe(false);
  expect(r.failures).toEqual(['dq: 7 of 462 elements unwritten (still poisoned) (bh=2 nq=33 nk=20 d=7 dv=7 scale=0.378 causal, seed 4242)']);
});

it('reports a NaN as non-finite and an lse that is not −inf on a fully masked row', async () => {
  const session = broken(await backend.open(p, 'exact'), (out) => {
    out.o![100] = Number.NaN;
    out.lse![0] = -1e30; // row 0 sees no key (nq > nk)
  });
  const r = await checkSession(session, { pipeline: 'fwd', seed });
  expect(r.failures).toHaveLength(2);
  expect(r.failures[0]).toMatch(/^lse: 1 of 66 elements non-finite where the reference is finite, or not −inf where it is/);
  expect(r.failures[1]).toMatch(/^o: 1 of 462 elements non-finite/);
  expect(r.errors.o?.relL2).toBe(0);
});

it('reports relative L2 over tolerance, with the seed, in row-sampled mode too', async () => {
  const session = broken(await backend.open(p, 'exact'), (out) => {
    if (out.dk) out.dk.forEach((v, i, a) => (a[i] = v * (1 + 1e-3)));
  });
  const r = await checkSession(session, { pipeline: 'bwd', seed, sample: 8 });
  expect(r.failures).toHaveLength(2);
  expect(r.failures[0]).toMatch(/^dk: relL2 1\.000e-3 > tolerance 0\.0001 \(bh=2 .* seed 4242\)$/);
  expect(r.failures[1]).toMatch(/^dk: max\|error\| .* > 2 × textbook float32 .* \(bh=2 .* seed 4242\)$/);
  expect(r.rule).toMatchObject({ output: 'dk', passed: false });
  expect(r.errors.dk?.count).toBe(8 * 7);
});

it('at large score magnitudes the fixed tolerance gives way to the rule: the textbook itself passes', async () => {
  const q = makeProblem({ bh: 2, nq: 160, d: 128, causal: true });
  const scoreStd = 1024;
  const tb = await textbookOutputs(q, randomInputs(q, seed, { scoreStd }), 'bwd');
  const session = broken(await backend.open(q, 'exact'), (out) => {
    for (const name of Object.keys(out) as OutputName[]) out[name] = Float32Array.from(tb.tensors[name]!);
  });
  const r = await checkSession(session, { pipeline: 'bwd', seed, scoreStd });
  expect(r.errors.dq!.relL2).toBeGreaterThan(1e-4); // over the N(0,1) tolerance …
  expect(r.failures).toEqual([]); // … and within the rule
  expect(r.rule!.passed).toBe(true);
});

it('in float16 the rule is the gate: the exact answer stored in float16 passes, one 1 % off fails', async () => {
  const h = makeProblem({ bh: 2, nq: 40, nk: 33, d: 24, causal: true, dtype: 'float16' });
  const stored = (scale: number) => (out: Partial<Record<OutputName, FloatArray>>) => {
    for (const name of ['o', 'dq', 'dk', 'dv'] as const) {
      const a = out[name];
      if (a) a.forEach((v, i) => (a[i] = roundTo('float16', v * scale)));
    }
  };
  const exact = await checkSession(broken(await backend.open(h, 'exact'), stored(1)), { pipeline: 'bwd', seed });
  expect(exact.errors.o!.relL2).toBeGreaterThan(1e-5); // over the float32 tolerance …
  expect(exact.failures).toEqual([]); // … and within the rule
  const off = await checkSession(broken(await backend.open(h, 'exact'), stored(1.01)), { pipeline: 'bwd', seed });
  expect(off.failures.length).toBeGreaterThan(0);
  expect(off.failures.every((f) => !f.includes('tolerance'))).toBe(true);
  expect(off.rule!.passed).toBe(false);
});
