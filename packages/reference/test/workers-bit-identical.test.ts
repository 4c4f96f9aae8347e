/** Worker threads give bit-identical results to the in-thread path, full and row-sampled. Needs the package built. */
import { afterAll, expect, it } from 'vitest';
import type { ReferenceOutputs } from '../src/index.js';
import { closeReferencePool, describeProblem, forwardStage, freshSeed, makeProblem, randomInputs, referenceOutputs, referenceWorkerScript, sampleRows, toSharedFloat64 } from '../src/index.js';

afterAll(() => closeReferencePool());

function expectSameBits(a: ReferenceOutputs, b: ReferenceOutputs, seed: number): void {
  expect(Object.keys(a.tensors).sort()).toEqual(Object.keys(b.tensors).sort());
  for (const [name, t] of Object.entries(a.tensors)) {
    const u = b.tensors[name as keyof typeof b.tensors]!;
    expect(Buffer.from(t.buffer, t.byteOffset, t.byteLength).equals(Buffer.from(u.buffer, u.byteOffset, u.byteLength)), `${name} (seed ${seed})`).toBe(true);
  }
}

it('finds the built worker script (run `pnpm --filter @attn/reference build` first)', () => {
  expect(referenceWorkerScript()?.pathname).toMatch(/dist\/reference-worker\.js$/);
});

for (const p of [makeProblem({ bh: 2, nq: 129, nk: 77, d: 24, causal: true }), makeProblem({ bh: 3, nq: 17, nk: 200, d: 9, dv: 13 })]) {
  it(`full bwd: ${describeProblem(p)}`, async () => {
    const seed = freshSeed();
    const x = randomInputs(p, seed);
    const inThread = await referenceOutputs(p, x, 'bwd', undefined, { threads: 1 });
    const workers = await referenceOutputs(p, x, 'bwd', undefined, { threads: 2, minWork: 0 });
    expectSameBits(inThread, workers, seed);
    expect(workers.tensors.dk!.some((v) => v !== 0)).toBe(true);
  });
}

it('row-sampled bwd and the lse pipeline', async () => {
  const p = makeProblem({ bh: 2, nq: 300, nk: 301, d: 15, causal: true });
  const seed = freshSeed();
  const x = randomInputs(p, seed);
  const full = await referenceOutputs(p, x, 'fwd', undefined, { threads: 1 });
  const given = { lse: full.tensors.lse!, o: full.tensors.o! };
  const rows = sampleRows(p, 20, seed);
  expectSameBits(
    await referenceOutputs(p, x, 'bwd', rows, { given, threads: 1 }),
    await referenceOutputs(p, x, 'bwd', rows, { given, threads: 2, minWork: 0 }),
    seed,
  );
  expectSameBits(await referenceOutputs(p, x, 'lse', undefined, { threads: 1 }), await referenceOutputs(p, x, 'lse', undefined, { threads: 2, minWork: 0 }), seed);
});

it('stage 2 alone (forward given lse)', async () => {
  const p = makeProblem({ bh: 3, nq: 61, nk: 45, d: 10, causal: true });
  const seed = freshSeed();
  const x = randomInputs(p, seed);
  const { lse } = (await referenceOutputs(p, x, 'lse')).tensors;
  const inputs = { q: toSharedFloat64(x.q), k: toSharedFloat64(x.k), v: toSharedFloat64(x.v) };
  const a = await forwardStage(p, inputs, null, lse!, { threads: 1 });
  const b = await forwardStage(p, inputs, null, lse!, { threads: 2, minWork: 0 });
  expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `seed ${seed}`).toBe(true);
});
