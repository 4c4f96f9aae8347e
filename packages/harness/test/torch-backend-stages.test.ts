/** How the torch peer maps the contract's stages onto SDPA's fused forward, and what it refuses. */
import { makeProblem, randomInputs } from '@attn/reference';
import { afterAll, expect, test } from 'vitest';
import { fakeTorchBackend } from './_helpers.js';

const backend = await fakeTorchBackend();
afterAll(() => backend.close());

async function opened(variant: string, init = { bh: 2, nq: 5, nk: 7, d: 8, causal: true }) {
  const problem = makeProblem(init);
  const session = await backend.open(problem, variant);
  const inputs = randomInputs(problem, 3);
  await session.write({ q: inputs.q, k: inputs.k, v: inputs.v, dO: inputs.dO });
  return session;
}

test('check() refuses float32 for flash and cudnn, and causal Nq > Nk (torch gives NaN rows), in one line', () => {
  const p = makeProblem({ bh: 1, nq: 4, d: 8 });
  expect(backend.check(p, 'flash')).toBe('torch SDPA flash takes float16/bfloat16 only, not float32');
  expect(backend.check(p, 'cudnn')).toBe('torch SDPA cudnn takes float16/bfloat16 only, not float32');
  expect(backend.check(p, 'naive')).toBe("torch has no SDPA backend 'naive' (it has: efficient, math, flash, cudnn)");
  expect(backend.check(makeProblem({ bh: 1, nq: 9, nk: 5, d: 8, causal: true }), 'math')).toMatch(/NaN on the 4 query rows that see no key \(Nq > Nk\)/);
  expect(backend.check(makeProblem({ bh: 1, nq: 5, nk: 9, d: 8, causal: true }), 'math')).toBeNull();
  expect(backend.fusedForward.ownOutputs('math')).toEqual(['o']);
  expect(backend.fusedForward.ownOutputs('efficient')).toEqual(['lse', 'o']);
});

test('an SDPA kernel that does not take the problem refuses at open, saying "refuses"', async () => {
  await expect(backend.open(makeProblem({ bh: 1, nq: 4, d: 6 }), 'efficient')).rejects.toThrow(
    /^torch efficient \(bh=1 nq=4 .*\): SDPA refuses it: fake efficient takes d divisible by 4, got 6$/,
  );
});

test('lse or forward alone is refused; backward needs a forward first; lse and O cannot be written', async () => {
  const s = await opened('efficient');
  await expect(s.run(['lse'])).rejects.toThrow(/SDPA runs lse\+forward as one pass, or backward after it; not lse$/);
  await expect(s.run(['forward'])).rejects.toThrow(/not forward$/);
  await expect(s.time(['lse'], { warmup: 0, samples: 1 })).rejects.toThrow(/not lse$/);
  await expect(s.run(['backward'])).rejects.toThrow(/: run: ValueError: backward needs a forward of this session first/);
  await expect(s.write({ lse: new Float32Array(10) })).rejects.toThrow(/SDPA computes its own lse/);
  await s.run(['lse', 'forward']);
  await s.run(['backward']);
  const out = await s.read(['dq']);
  expect(out.dq.every(Number.isFinite)).toBe(true);
  await s.dispose();
});

test('poison then a forward writes lse and O only: the gradients still hold the poison', async () => {
  const { countPoisoned } = await import('@attn/reference');
  const s = await opened('math');
  await s.poison();
  await s.run(['lse', 'forward']);
  const out = await s.read(['lse', 'o', 'dq', 'dk', 'dv']);
  expect(countPoisoned(out.lse) + countPoisoned(out.o)).toBe(0);
  expect([countPoisoned(out.dq), countPoisoned(out.dk), countPoisoned(out.dv)]).toEqual([out.dq.length, out.dk.length, out.dv.length]);
  await s.dispose();
});

test('time: the fused forward has no per-stage split; backward alone is its own; the L2 mode comes back', async () => {
  const s = await opened('efficient');
  await s.run(['lse', 'forward', 'backward']);
  const fwd = await s.time(['lse', 'forward'], { warmup: 1, samples: 3, l2: 'cold' });
  expect(fwd.totalMs).toHaveLength(3);
  expect(fwd.totalMs.every((x) => x > 0)).toBe(true);
  expect(fwd.perStageMs).toEqual({});
  expect(fwd.l2).toBe('cold');
  expect(fwd.source).toBe('wall');
  const bwd = await s.time(['backward'], { warmup: 0, samples: 2 });
  expect(bwd.perStageMs.backward).toEqual(bwd.totalMs);
  expect(bwd.l2).toBe('warm');
  await s.dispose();
});
