/**
 * One non-finite policy for every backend, enforced by attn run: a NaN input is refused with its [b, n, d] index on
 * any backend, and with --allow-nonfinite every backend runs it. Here the NaN sits in the one key only the last query
 * row sees (causal, N = 64): rows 0…62 never see it, so their lse and O must match attention computed without that
 * key, on the reference, WGSL naive and each WGSL tiled kernel version (masked scores must not leak); row 63 may be
 * NaN. (dQ is not compared: a tiled kernel's dS·K block product multiplies the NaN key by masked zeros.)
 */
import { expect, it } from 'vitest';
import { Rng } from '@attn/reference';
import { attention, attnLines, loadNpy, normalTensor, relL2, runCli, saveNpy, skipUnlessWgsl, tempDir, usageFailure } from './_helpers.js';

const [bh, n, d] = [2, 64, 32];
const shape = [bh, n, d];
const NAN_AT = [1, 63, 5] as const;

function inputs() {
  const rng = new Rng(23);
  const dir = tempDir();
  const q = normalTensor(rng, shape);
  const k = normalTensor(rng, shape);
  const v = normalTensor(rng, shape);
  const clean = Float32Array.from(k);
  k[(NAN_AT[0] * n + NAN_AT[1]) * d + NAN_AT[2]] = NaN;
  clean[(NAN_AT[0] * n + NAN_AT[1]) * d + NAN_AT[2]] = 0;
  const flags = ['--q', saveNpy(dir, 'q', q, shape), '--k', saveNpy(dir, 'k', k, shape), '--v', saveNpy(dir, 'v', v, shape)];
  // rows 0…62 do not see key 63: attention with that key zeroed is theirs
  const want = attention({ bh, nq: n, nk: n, d, dv: d, causal: true, scale: 1 / Math.sqrt(d) }, q, clean, v, new Float32Array(bh * n * d));
  return { dir, flags, want };
}

/** The rows 0…62 of each bh of a [bh, n, cols] tensor. */
function seenRows(data: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < bh; b++) for (let i = 0; i < n - 1; i++) for (let c = 0; c < cols; c++) out.push(data[(b * n + i) * cols + c]!);
  return out;
}

// refused before any backend is loaded, so alike wherever it runs
it.each(['reference', 'wgsl', 'cuda'])('%s refuses the NaN key by default, naming it [b, n, d]', (backend) => {
  const { dir, flags } = inputs();
  const args = ['run', '--backend', backend, '--stage', 'fwd', '--causal', '--out', `${dir}/out`, ...flags];
  expect(usageFailure(args)).toBe('attn: K has 1 non-finite value (first at [1,63,5]: NaN); pass --allow-nonfinite to run anyway');
});

it.for([
  { backend: 'reference', variant: 'exact', tolerance: 1e-12 },
  { backend: 'wgsl', variant: 'naive', tolerance: 2e-6 },
  // version 3 runs version 2's shaders with unrolled loops: its masking lines are version 2's
  ...['tiled@v1', 'tiled@v2', 'tiled@v4', 'tiled'].map((variant) => ({ backend: 'wgsl', variant, tolerance: 2e-6 })),
])('$backend $variant runs it with --allow-nonfinite; rows 0…62 match attention without that key', ({ backend, variant, tolerance }, ctx) => {
  const { dir, flags, want } = inputs();
  const out = `${dir}/out`;
  const r = runCli(['run', '--backend', backend, '--variant', variant, '--stage', 'fwd', '--causal', '--allow-nonfinite', '--out', out, ...flags]);
  if (backend === 'wgsl') skipUnlessWgsl(ctx, r);
  expect(attnLines(r.stderr)).toEqual([]);
  expect(r.code).toBe(0);
  const lse = loadNpy(`${out}/lse.npy`).data;
  const o = loadNpy(`${out}/o.npy`).data;
  expect(relL2(seenRows(lse, 1), seenRows(want.lse, 1)), 'lse rows 0…62').toBeLessThanOrEqual(tolerance);
  expect(relL2(seenRows(o, d), seenRows(want.o, d)), 'O rows 0…62').toBeLessThanOrEqual(tolerance);
});
