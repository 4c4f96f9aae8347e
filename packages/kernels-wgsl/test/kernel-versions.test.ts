// Every float32 row of the version table (src/versions.ts) is correct: each generation (tiled@v1 … tiled@v5: lseN,
// fwdN, bwdN; version 6 is float16 only: test/sgmat-emulated.test.ts) runs lse → forward → backward against the float64 reference on every odd shape of @attn/reference
// (SMALL_ODD_SHAPES), causal and not; versions 4 and 5 run version 3 where d or dv is not a multiple of 4, and say so.
// Stages mix: a choice with a different version per stage is correct too (they share the lse buffer's layout).
import { SMALL_ODD_SHAPES } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { WGSL_VERSIONS } from '../src/index.js';
import { backend, checkShapes, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

const GENERATIONS = [...new Set(WGSL_VERSIONS.filter((v) => v.dtypes.includes('float32')).map((v) => v.version))];
const SHAPES = SMALL_ODD_SHAPES.map(({ bh, nq, nk, d, dv, why }) => ({ bh, nq, nk, d, dv: dv ?? d, why }));
// for the mixed choices: bh > 1 with Nq < Nk, causal rows that see no key, a fallback (d = 3) next to versions that have none
const MIXED_SHAPES = SMALL_ODD_SHAPES.filter((s) => [40, 64, 3].includes(s.d));

describe.skipIf(skipGpu)('every version of the table', () => {
  it('the table has float32 versions 1 to 5 in every stage', () => {
    expect(GENERATIONS).toEqual([1, 2, 3, 4, 5]);
  });

  // first, so the version tests below find their shaders compiled: lavapipe drops the oldest compiled shaders of a
  // device once they pass its code budget, and compiling these after all five versions took 7–35 s each
  it.each(['tiled@lse1+fwd5+bwd3', 'tiled@lse5+fwd2+bwd1', 'tiled@lse4+fwd1+bwd4'])('%s: stages of different versions', async (variant) => {
    expect(await checkShapes(backend, variant, MIXED_SHAPES, 'bwd')).toEqual([]);
  });

  // one test per generation and shape: the first of each generation compiles its shaders (lavapipe JITs at first run)
  it.each(GENERATIONS.flatMap((v) => SHAPES.map((s) => ({ v, ...s }))))(
    'tiled@v$v: bh=$bh nq=$nq nk=$nk d=$d dv=$dv ($why)',
    async ({ v, bh, nq, nk, d, dv }) => {
      expect(await checkShapes(backend, `tiled@v${v}`, [{ bh, nq, nk, d, dv }], 'bwd')).toEqual([]);
    },
  );

  it('a fallback is recorded in Session.kernels', async () => {
    const s = await backend.open(problem({ bh: 1, nq: 3, nk: 3, d: 6 }), 'tiled@fwd4+bwd5');
    try {
      expect(s.kernels?.forward).toMatch(/^fwd3 \(fwd4 needs d, dv ≡ 0 mod 4\): /);
      expect(s.kernels?.backward).toMatch(/^bwd3 \(bwd5 needs d, dv ≡ 0 mod 4\): /);
      expect(s.kernels?.lse).toMatch(/^lse3 \(lse5 needs d, dv ≡ 0 mod 4\): /);
    } finally {
      await s.dispose();
    }
  });

});
