/** The reference through the Backend / Session contract, as the harness drives it. */
import { afterAll, describe, expect, it } from 'vitest';
import { BackendError, checkSession, countPoisoned, createReferenceBackend, freshSeed, makeProblem, randomInputs, referenceOutputs } from '../src/index.js';

const backend = createReferenceBackend();
afterAll(() => backend.close());

describe('reference backend', () => {
  it('describes itself', async () => {
    expect(backend.name).toBe('reference');
    expect(backend.variants).toEqual(['exact']);
    expect(await backend.availability()).toBeNull();
    const info = await backend.info();
    expect([info.backend, info.dtype, info.timer]).toEqual(['reference', 'float64', 'wall']);
    const limits = backend.limits('exact');
    expect(limits.causal).toBe(true);
    expect(limits.maxD).toBeGreaterThanOrEqual(1 << 16);
    expect(limits.maxBufferBytes).toBeGreaterThanOrEqual(2 ** 31);
  });

  it('refuses other variants and problems too big for a typed array, in one line', async () => {
    expect(backend.check(makeProblem({ bh: 1, nq: 4, d: 4 }), 'tiled')).toMatch(/variant 'tiled' is not offered/);
    const huge = makeProblem({ bh: 1 << 16, nq: 1 << 16, d: 128 });
    expect(backend.check(huge, 'exact')).toMatch(/^reference: q of bh=65536 .* needs \d+ bytes as float64, over the \d+/);
    await expect(backend.open(huge, 'exact')).rejects.toBeInstanceOf(BackendError);
  });

  it('poisons every output, runs stages on written inputs, reads float64 copies', async () => {
    const p = makeProblem({ bh: 2, nq: 17, nk: 23, d: 5, causal: true });
    const seed = freshSeed();
    const x = randomInputs(p, seed);
    const session = await backend.open(p, 'exact');
    expect(session.deviceBytes).toBe(8 * (2 * 17 * 5 * 4 + 2 * 23 * 5 * 4 + 2 * 17));
    await session.write(x);
    await session.poison();
    const before = await session.read(['lse', 'o', 'dq', 'dk', 'dv']);
    for (const [name, t] of Object.entries(before)) expect(countPoisoned(t), name).toBe(t.length);

    await session.run(['lse']);
    const afterLse = await session.read(['lse', 'o']);
    expect(afterLse.lse).toBeInstanceOf(Float64Array);
    expect(countPoisoned(afterLse.lse)).toBe(0);
    expect(countPoisoned(afterLse.o), 'forward did not run').toBe(afterLse.o.length);

    const ref = await referenceOutputs(p, x, 'fwd');
    expect(Array.from(afterLse.lse)).toEqual(Array.from(ref.tensors.lse!));
    afterLse.lse[0] = 123; // a copy: the session's tensor is not touched
    expect((await session.read(['lse'])).lse[0]).toBe(ref.tensors.lse![0]);
    await session.dispose();
  });

  it('runs forward on an lse written by the caller (stage 2 takes lse as given)', async () => {
    const p = makeProblem({ bh: 1, nq: 9, nk: 9, d: 3 });
    const x = randomInputs(p, freshSeed());
    const { lse, o } = (await referenceOutputs(p, x, 'fwd')).tensors;
    const session = await backend.open(p, 'exact');
    await session.write({ q: x.q, k: x.k, v: x.v, lse: lse!.map((l) => l + Math.log(2)) });
    await session.poison(); // poison clears outputs only; the lse written above is an input here, so write it again
    await expect(session.run(['forward'])).rejects.toThrow(/^reference forward on bh=1 nq=9 .*: lse not written or computed yet$/);
    await session.write({ lse: lse!.map((l) => l + Math.log(2)) });
    await session.run(['forward']);
    const halved = (await session.read(['o'])).o;
    halved.forEach((value, i) => expect(value).toBeCloseTo(o![i]! / 2, 14));
    await session.dispose();
    await expect(session.run(['lse'])).rejects.toThrow(/disposed/);
  });

  it('refuses a tensor of the wrong size, naming it', async () => {
    const p = makeProblem({ bh: 1, nq: 4, d: 2 });
    const session = await backend.open(p, 'exact');
    await expect(session.write({ k: new Float32Array(7) })).rejects.toThrow(/^reference write: k has 7 elements, the problem \(bh=1 nq=4 .*\) needs 8$/);
  });

  it('times stages by wall clock', async () => {
    const p = makeProblem({ bh: 1, nq: 64, d: 16 });
    const session = await backend.open(p, 'exact');
    await session.write(randomInputs(p, 3));
    const t = await session.time(['lse', 'forward', 'backward'], { warmup: 1, samples: 3 });
    expect(t.source).toBe('wall');
    expect(t.totalMs).toHaveLength(3);
    expect(t.perStageMs.backward).toHaveLength(3);
    expect(t.totalMs.every((ms) => ms > 0)).toBe(true);
  });

  it('passes its own checkSession, full and row-sampled', async () => {
    const p = makeProblem({ bh: 3, nq: 77, nk: 131, d: 40, causal: true });
    const session = await backend.open(p, 'exact');
    for (const sample of [undefined, 10]) {
      const result = await checkSession(session, { pipeline: 'bwd', seed: freshSeed(), sample });
      expect(result.failures).toEqual([]);
      expect(result.passed).toBe(true);
      expect(result.errors.dk?.relL2).toBe(0);
    }
  });
});
