/** The torch peer in each storage dtype: which SDPA backends take which, and how half tensors travel (through the fake). */
import type { Dtype } from '@attn/reference';
import { countPoisoned, makeProblem, randomInputs, roundTo } from '@attn/reference';
import { afterAll, expect, test } from 'vitest';
import { fakeTorchBackend } from './_helpers.js';

const backend = await fakeTorchBackend();
afterAll(() => backend.close());

const problem = (dtype: Dtype) => makeProblem({ bh: 2, nq: 5, nk: 7, d: 8, causal: true, dtype });

test('flash and cudnn refuse float32 in one line and take the half dtypes; efficient and math take all three', () => {
  for (const variant of ['flash', 'cudnn']) {
    expect(backend.check(problem('float32'), variant)).toBe(`torch SDPA ${variant} takes float16/bfloat16 only, not float32`);
    expect(backend.check(problem('float16'), variant)).toBeNull();
    expect(backend.check(problem('bfloat16'), variant)).toBeNull();
  }
  for (const variant of ['efficient', 'math']) {
    for (const dtype of ['float32', 'float16', 'bfloat16'] as const) expect(backend.check(problem(dtype), variant)).toBeNull();
  }
});

test.each(['float16', 'bfloat16'] as const)('%s: the rounded inputs go in, O and the gradients come back as numbers of the dtype, lse in float32', async (dtype) => {
  const p = problem(dtype);
  const session = await backend.open(p, 'flash');
  const inputs = randomInputs(p, 4);
  await session.write({ q: inputs.q, k: inputs.k, v: inputs.v, dO: inputs.dO });
  await session.run(['lse', 'forward', 'backward']);
  const out = await session.read(['lse', 'o', 'dq', 'dk', 'dv']);
  for (const name of ['o', 'dq', 'dk', 'dv'] as const) {
    expect(out[name]).toBeInstanceOf(Float32Array);
    expect([...out[name]].every((x) => roundTo(dtype, x) === x)).toBe(true);
    expect([...out[name]].some((x) => x !== 0)).toBe(true);
  }
  // lse stays float32: it holds values no half dtype has
  expect([...out.lse].some((x) => Number.isFinite(x) && roundTo(dtype, x) !== x)).toBe(true);
  await session.dispose();
});

test('a value the dtype does not represent is refused at write, in one line naming the tensor', async () => {
  const p = problem('float16');
  const session = await backend.open(p, 'efficient');
  const inputs = randomInputs(p, 5);
  const q = Float32Array.from(inputs.q);
  q[3] = 1 / 3;
  q[4] = 0.1;
  await expect(session.write({ q, k: inputs.k, v: inputs.v })).rejects.toThrow(
    /^torch efficient \(bh=2 nq=5 nk=7 d=8 .* float16\): write: ValueError: q holds 2 values that float16 does not represent \(inputs must be rounded to the problem's dtype\)$/,
  );
  // bfloat16 keeps 8 bits of mantissa: a float16 number with more is not a bfloat16 one
  const b = await backend.open(problem('bfloat16'), 'math');
  const v = Float32Array.from(randomInputs(problem('bfloat16'), 5).v);
  v[0] = 1 + 2 ** -10;
  await expect(b.write({ v })).rejects.toThrow(/v holds 1 value that bfloat16 does not represent/);
  await session.dispose();
  await b.dispose();
});

test('poison in a half dtype: a forward writes lse and O, the gradients come back as the float32 poison', async () => {
  const p = problem('bfloat16');
  const session = await backend.open(p, 'cudnn');
  const inputs = randomInputs(p, 6);
  await session.write({ q: inputs.q, k: inputs.k, v: inputs.v, dO: inputs.dO });
  await session.poison();
  await session.run(['lse', 'forward']);
  const out = await session.read(['lse', 'o', 'dq', 'dk', 'dv']);
  expect(countPoisoned(out.lse) + countPoisoned(out.o)).toBe(0);
  expect([countPoisoned(out.dq), countPoisoned(out.dk), countPoisoned(out.dv)]).toEqual([out.dq.length, out.dk.length, out.dv.length]);
  await session.dispose();
});

test('a server that does not say it ran the asked dtype (one older than the dtype axis) fails open in one line', async () => {
  const old = await fakeTorchBackend(['no-dtype-echo']);
  try {
    await expect(old.open(problem('float16'), 'efficient')).rejects.toThrow(
      /^torch efficient \(.* float16\): open: the torch server ran no stated dtype, not float16 \(an older torch_server\.py\?\)$/,
    );
  } finally {
    await old.close();
  }
});
