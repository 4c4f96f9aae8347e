/** Jobs asked for at the same time take the worker pool in turn and each gets its own, correct result. */
import { afterAll, expect, it } from 'vitest';
import { closeReferencePool, freshSeed, makeProblem, randomInputs, referenceOutputs } from '../src/index.js';

afterAll(() => closeReferencePool());

it('concurrent referenceOutputs calls on workers equal their in-thread results', async () => {
  const seed = freshSeed();
  const problems = [makeProblem({ bh: 2, nq: 90, nk: 70, d: 12, causal: true }), makeProblem({ bh: 1, nq: 50, nk: 130, d: 7 })];
  const inputs = problems.map((p, i) => randomInputs(p, seed + i));
  const parallel = await Promise.all(problems.map((p, i) => referenceOutputs(p, inputs[i]!, 'bwd', undefined, { threads: 2, minWork: 0 })));
  for (let i = 0; i < problems.length; i++) {
    const alone = await referenceOutputs(problems[i]!, inputs[i]!, 'bwd', undefined, { threads: 1 });
    for (const name of ['lse', 'o', 'dq', 'dk', 'dv'] as const) {
      expect(Array.from(parallel[i]!.tensors[name]!), `${name} of problem ${i} (seed ${seed})`).toEqual(Array.from(alone.tensors[name]!));
    }
  }
});
