/**
 * Finite inputs whose attention is beyond float32's range: the float64 reference computes it; a float32 backend
 * (WGSL, a CPU adapter is enough) either refuses up front (the scale itself, or an lse proven beyond range: exit 2)
 * or, where that cannot be known cheaply, runs and the output check fails the run (exit 1) with one line naming each
 * tensor, its non-finite count and the first index. Past float64's range the reference fails the same way.
 */
import { expect, it } from 'vitest';
import { Rng } from '@attn/reference';
import { attnLines, loadNpy, normalTensor, runCli, saveNpy, skipUnlessWgsl, tempDir } from './_helpers.js';

const shape = [2, 64, 32];

/** Q, K of N(0,1)·magnitude, V of N(0,1), saved; the `--q … --k … --v … --out …` flags. */
function inputs(magnitude: number, dtype: 'float32' | 'float64' = 'float32'): { flags: string[]; out: string } {
  const rng = new Rng(11);
  const dir = tempDir();
  const scaled = () => {
    const t = normalTensor(rng, shape, dtype);
    for (let i = 0; i < t.length; i++) t[i]! *= magnitude;
    return t;
  };
  const out = `${dir}/out`;
  const flags = ['--out', out, '--q', saveNpy(dir, 'q', scaled(), shape), '--k', saveNpy(dir, 'k', scaled(), shape)];
  flags.push('--v', saveNpy(dir, 'v', normalTensor(rng, shape), shape));
  return { flags, out };
}

function countNonFinite(path: string): number {
  return loadNpy(path).data.filter((x) => !Number.isFinite(x)).length;
}

it.each([
  { what: 'Q, K ~ 1e19', magnitude: 1e19, scale: [] },
  { what: '--scale 3e38', magnitude: 1, scale: ['--scale', '3e38'] },
])('the float64 reference computes $what: finite outputs, exit 0', ({ magnitude, scale }) => {
  const { flags, out } = inputs(magnitude);
  const r = runCli(['run', '--backend', 'reference', '--stage', 'fwd', '--causal', ...scale, ...flags]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lse = loadNpy(`${out}/lse.npy`).data;
  expect(countNonFinite(`${out}/lse.npy`) + countNonFinite(`${out}/o.npy`)).toBe(0);
  // at float32's limit (3.4e38): a float32 backend's dot products overflow on the way
  expect(Math.max(...lse)).toBeGreaterThan(1e38);
});

it.for(['naive', 'tiled'])('wgsl %s on Q, K ~ 1e19: runs, then exit 1 naming each non-finite output', (variant, ctx) => {
  const { flags, out } = inputs(1e19);
  const r = runCli(['run', '--backend', 'wgsl', '--variant', variant, '--stage', 'fwd', '--causal', ...flags]);
  skipUnlessWgsl(ctx, r);
  expect(r.code, r.stderr).toBe(1);
  const lines = attnLines(r.stderr);
  expect(lines).toHaveLength(1);
  const m = /^attn: (lse has (\d+) non-finite values? \(first at \[\d+,\d+\]: [-\w]+\); )?O has (\d+) non-finite values? \(first at \[\d+,\d+,\d+\]: [-\w]+\); the inputs were finite \(wgsl \w+ computes in float32\)$/.exec(lines[0]!);
  expect(m, lines[0]).not.toBeNull();
  // the counts are those of the files written
  expect(Number(m![2] ?? 0)).toBe(countNonFinite(`${out}/lse.npy`));
  expect(Number(m![3])).toBe(countNonFinite(`${out}/o.npy`));
  expect(Number(m![3])).toBeGreaterThan(0);
});

it('wgsl on --scale 3e38: refused before running, exit 2 (an lse proven beyond float32)', (ctx) => {
  const { flags, out } = inputs(1);
  const r = runCli(['run', '--backend', 'wgsl', '--stage', 'fwd', '--causal', '--scale', '3e38', ...flags]);
  skipUnlessWgsl(ctx, r);
  expect(r.code).toBe(2);
  expect(attnLines(r.stderr)).toEqual([
    expect.stringMatching(/^attn: the lse of row \[\d+,\d+\] is at least \d\.\d\de\+3[89], beyond float32's range \(wgsl naive computes in float32\): scale·Q·Kᵀ is too large$/),
  ]);
  expect(r.stdout).toBe('');
  expect(() => loadNpy(`${out}/lse.npy`)).toThrow();
});

it('wgsl on --scale 1e39: the scale itself is not a float32, exit 2', (ctx) => {
  const r = runCli(['run', '--backend', 'wgsl', '--stage', 'lse', '--scale', '1e39', ...inputs(1).flags]);
  skipUnlessWgsl(ctx, r);
  expect(r.code).toBe(2);
  expect(attnLines(r.stderr)).toEqual(["attn: --scale 1e+39 is beyond float32's range (wgsl naive computes in float32)"]);
});

it('the reference on float64 Q, K ~ 1e160 (scores beyond float64): exit 1, one line for every output', () => {
  const { flags } = inputs(1e160, 'float64');
  const r = runCli(['run', '--backend', 'reference', '--stage', 'fwd', '--causal', ...flags]);
  expect(r.code).toBe(1);
  expect(attnLines(r.stderr)).toEqual([
    expect.stringMatching(/^attn: lse has \d+ non-finite values \(first at \[0,0\]: [-\w]+\); O has \d+ non-finite values \(first at \[0,0,0\]: NaN\); the inputs were finite \(reference exact computes in float64\)$/),
  ]);
});
