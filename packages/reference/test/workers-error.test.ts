/** An error inside a worker comes back as a JS error naming the job and the problem, and the pool keeps working. */
import { afterAll, expect, it } from 'vitest';
import type { Job } from '../src/index.js';
import { closeReferencePool, makeProblem, randomInputs, referenceOutputs, runJob, sharedFloat64 } from '../src/index.js';

afterAll(() => closeReferencePool());

it('a job that throws in a worker rejects with kind, problem and cause; the next job still runs', async () => {
  const p = makeProblem({ bh: 1, nq: 64, nk: 64, d: 4 });
  const bad = { kind: 'lseForward', problem: p, q: sharedFloat64(256), k: sharedFloat64(256), v: sharedFloat64(256), rows: null, lse: sharedFloat64(64) } as unknown as Job;
  await expect(runJob(bad, { threads: 2, minWork: 0 })).rejects.toThrow(/^reference lseForward on bh=1 nq=64 nk=64 d=4 dv=4 scale=0\.5: .*undefined/);
  const x = randomInputs(p, 5);
  const after = await referenceOutputs(p, x, 'fwd', undefined, { threads: 2, minWork: 0 });
  expect(after.tensors.lse!.every(Number.isFinite)).toBe(true);
});
