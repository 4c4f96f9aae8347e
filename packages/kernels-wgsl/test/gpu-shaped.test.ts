// Kernel 2 in the shape the H100 runs it — 16 × 16 invocations, 64- and 128-row tiles, constant (unrolled) loop
// bounds — checked on lavapipe across several tiles with ragged edges (its 32 KiB picks tiles close to the H100's).
import { checkSession, freshSeed, makeProblem } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { skipGpu } from './_helpers.js';

const configs = [
  { rows: 4, init: { bh: 2, nq: 150, nk: 131, d: 64 } },
  { rows: 8, init: { bh: 1, nq: 70, nk: 200, d: 128 } },
] as const;
const backends = configs.map((c) => createWgslBackend({ kernel: 2, maxTileSide: 16, unroll: true, rowsPerInvocation: c.rows }));
afterAll(async () => {
  for (const b of backends) await b.close();
});

describe.skipIf(skipGpu)('kernel 2, GPU-shaped tiles', () => {
  it.each(configs.map((c, i) => ({ ...c, i })))('rows $rows: bwd, causal and not', async ({ init, i }) => {
    const tiles = (await backends[i]!.info()).details?.tiles as Record<string, Record<string, string>>;
    expect(tiles[`d${init.d}`]!.forward).toMatch(/\(\d+x16 invocations/);
    for (const causal of [false, true]) {
      const p = makeProblem({ ...init, causal });
      const s = await backends[i]!.open(p, 'tiled');
      try {
        const seed = freshSeed();
        expect((await checkSession(s, { pipeline: 'bwd', seed })).failures, `seed ${seed} causal ${causal}`).toEqual([]);
      } finally {
        await s.dispose();
      }
    }
  });
});
