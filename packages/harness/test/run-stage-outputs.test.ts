/** --stage lse writes lse.npy only, --stage fwd lse.npy and o.npy, each with the reference's values; the summary names them. */
import { readdirSync } from 'node:fs';
import { expect, it } from 'vitest';
import { Rng, freshSeed } from '@attn/reference';
import { attention, loadNpy, normalTensor, relL2, runCli, saveNpy, tempDir } from './_helpers.js';

it.each([
  { stage: 'lse', files: ['lse.npy'] },
  { stage: 'fwd', files: ['lse.npy', 'o.npy'] },
])('--stage $stage writes $files', ({ stage, files }) => {
  const seed = freshSeed();
  const rng = new Rng(seed);
  const [bh, nq, nk, d] = [2, 17, 33, 6];
  const q = normalTensor(rng, [bh, nq, d]);
  const k = normalTensor(rng, [bh, nk, d]);
  const v = normalTensor(rng, [bh, nk, d]);
  const dir = tempDir();
  const r = runCli([
    'run', '--backend', 'reference', '--stage', stage, '--out', `${dir}/out`,
    '--q', saveNpy(dir, 'q', q, [bh, nq, d]), '--k', saveNpy(dir, 'k', k, [bh, nk, d]), '--v', saveNpy(dir, 'v', v, [bh, nk, d]),
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect(readdirSync(`${dir}/out`).sort()).toEqual(files);
  expect(r.stdout).toContain('reference exact');
  for (const f of files) expect(r.stdout).toContain(f);

  const want = attention({ bh, nq, nk, d, dv: d, causal: false, scale: 1 / Math.sqrt(d) }, q, k, v, new Float32Array(bh * nq * d));
  expect(relL2(loadNpy(`${dir}/out/lse.npy`).data, want.lse), `seed ${seed}`).toBeLessThanOrEqual(1e-12);
  if (stage === 'fwd') expect(relL2(loadNpy(`${dir}/out/o.npy`).data, want.o), `seed ${seed}`).toBeLessThanOrEqual(1e-12);
});
