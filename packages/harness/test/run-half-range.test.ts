/**
 * In a half dtype, values that float16 cannot store are named as float16's: an input beyond its range is refused
 * after rounding (exit 2), and an output that overflows it is reported as the storage's, not as float32 arithmetic's
 * (exit 1). The reference backend (every dtype) for the input; WGSL (a CPU adapter is enough; skipped, with the
 * reason, where it is not available) for the output, since the reference keeps its outputs in float64.
 */
import { expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { Rng } from '@attn/reference';
import { normalTensor, runCli, saveNpy, tempDir } from './_helpers.js';

const [bh, nq, nk, d] = [1, 9, 2, 8];

function run(backend: string, q: Float64Array, k: Float64Array, v: Float64Array, dO: Float64Array) {
  const dir = tempDir();
  return runCli([
    'run', '--backend', backend, '--stage', 'bwd', '--dtype', 'float16', '--out', `${dir}/out`,
    '--q', saveNpy(dir, 'q', q, [bh, nq, d]), '--k', saveNpy(dir, 'k', k, [bh, nk, d]),
    '--v', saveNpy(dir, 'v', v, [bh, nk, d]), '--do', saveNpy(dir, 'dO', dO, [bh, nq, d]),
  ]);
}

function inputs() {
  const rng = new Rng(5);
  const t = (n: number) => normalTensor(rng, [bh, n, d], 'float64') as Float64Array;
  return { q: t(nq), k: t(nk), v: t(nk), dO: t(nq) };
}

const attnLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('attn:'));

it('refuses an input value beyond float16 after rounding to it', () => {
  const { q, k, v, dO } = inputs();
  q[3 * d + 1] = 1e5;
  const r = run('reference', q, k, v, dO);
  expect(r.code).toBe(2);
  expect(attnLines(r.stderr)).toEqual([
    'attn: Q has 1 non-finite value after rounding to float16 (largest finite 65504) (first at [0,3,1]: Infinity); pass --allow-nonfinite to run anyway',
  ]);
});

it('names float16 storage when an output overflows it from finite inputs', (ctx: TestContext) => {
  const { q, k, v, dO } = inputs();
  dO.fill(6e4); // dV sums nine of these per key: beyond 65504
  const r = run('wgsl', q, k, v, dO);
  const unavailable = /^attn: backend 'wgsl' (is not available|could not be loaded): (.*)$/m.exec(r.stderr);
  if (unavailable) ctx.skip(unavailable[2]);
  expect(r.code, r.stderr).toBe(1);
  const lines = attnLines(r.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^attn: dV has \d+ non-finite values .*; the inputs were finite \(wgsl naive stores float16, largest finite 65504; computes in float32\)$/);
});

it('refuses a dtype the backend lacks before judging the scale in float32, and before opening a device', () => {
  const { q, k, v, dO } = inputs();
  const dir = tempDir();
  const r = runCli([
    'run', '--backend', 'wgsl', '--stage', 'fwd', '--dtype', 'bfloat16', '--scale', '1e39', '--out', `${dir}/out`,
    '--q', saveNpy(dir, 'q', q, [bh, nq, d]), '--k', saveNpy(dir, 'k', k, [bh, nk, d]), '--v', saveNpy(dir, 'v', v, [bh, nk, d]),
  ]);
  expect(r.code).toBe(2);
  // the whole of stderr: no adapter is asked for, so none of Dawn's device warnings precede the line
  expect(r.stderr.trim().split('\n')).toEqual(['attn: wgsl has no bfloat16: WGSL has no bf16 type (wgsl runs float32 and float16)']);
});
