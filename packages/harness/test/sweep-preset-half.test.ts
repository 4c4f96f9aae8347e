/** The half-precision preset: its problems, its variants, and the backends it tries when none are named. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { PRESETS } from '../src/presets.js';
import { expandBlocks } from '../src/sweep.js';
import { runCli, tempDir } from './_helpers.js';

test('BH 16, N 1024/4096/16384, d 64/128, causal and not, in float16 and bfloat16, then float32 at N 4096; timed with a cold L2', () => {
  const half = PRESETS.half;
  const problems = expandBlocks(half.blocks).map((p) => p.problem);
  expect(problems).toHaveLength(2 * 12 + 4);
  expect([...new Set(problems.map((p) => p.dtype))]).toEqual(['float16', 'bfloat16', 'float32']);
  expect(new Set(problems.map((p) => p.bh))).toEqual(new Set([16]));
  for (const dtype of ['float16', 'bfloat16']) {
    const inDtype = problems.filter((p) => p.dtype === dtype);
    expect(new Set(inDtype.map((p) => `${p.nq}x${p.nk} d${p.d} ${p.causal}`)).size).toBe(12);
    expect(new Set(inDtype.map((p) => p.nq))).toEqual(new Set([1024, 4096, 16384]));
  }
  expect(problems.filter((p) => p.dtype === 'float32').map((p) => `${p.nq} d${p.d} ${p.causal}`)).toEqual(['4096 d64 false', '4096 d64 true', '4096 d128 false', '4096 d128 true']);
  expect(new Set(problems.map((p) => p.d))).toEqual(new Set([64, 128]));
  expect(half.variants).toEqual(['naive', 'tiled', 'efficient', 'math', 'flash', 'cudnn']);
  expect(half.pipelines).toEqual(['lse', 'fwd', 'bwd']);
  expect(half.timing).toMatchObject({ l2: 'cold' });
});

test('attn sweep --preset half tries cuda, wgsl and torch when --backends is not given, and says why each is skipped', () => {
  const out = tempDir('attn-sweep-half-');
  const r = runCli(['sweep', '--preset', 'half', '--n', '3', '--d', '4', '--bh', '1', '--causal', 'no', '--pipelines', 'fwd', '--dtypes', 'float16', '--no-timing', '--no-report', '--out', out]);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  expect(Object.keys(results.metadata.backends).slice(0, 3)).toEqual(['cuda', 'wgsl', 'torch']);
  expect(results.metadata.preset).toBe('half');
  expect(r.stderr).toMatch(/^attn sweep: preset half, 1 problems × /m);
  for (const [name, meta] of Object.entries(results.metadata.backends) as [string, { availability: string | null }][]) {
    if (meta.availability) expect(r.stderr).toContain(`attn sweep: backend ${name} skipped: ${meta.availability}`);
  }
  expect(results.records.every((x: { dtype: string }) => x.dtype === 'float16')).toBe(true);
});
