/** attn sweep's peer and timing options: --peers torch, --l2, the metadata a timed sweep records. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { FAKE_TORCH_SERVER, runCli, tempDir } from './_helpers.js';

const tiny = ['--preset', 'cpu', '--n', '3', '--d', '4', '--bh', '1', '--causal', 'no', '--pipelines', 'fwd', '--min-samples', '2', '--time-budget', '1', '--no-report'];

test('--l2 takes cold or warm, in one line', () => {
  const r = runCli(['sweep', ...tiny, '--backends', 'reference', '--l2', 'lukewarm']);
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toBe("attn: --l2 must be cold or warm; got 'lukewarm'");
  const verify = runCli(['sweep', '--preset', 'verify', '--backends', 'reference', '--l2', 'warm']);
  expect(verify.code).toBe(2);
  expect(verify.stderr).toContain('attn: --preset verify is correctness only; drop --time-budget/--min-samples/--l2');
});

test('a timed sweep records the L2 mode and the clocks (here: why there are none); --peers torch adds the torch backend', () => {
  const out = tempDir('attn-sweep-peers-');
  const r = runCli(['sweep', ...tiny, '--backends', 'reference', '--peers', 'torch', '--l2', 'warm', '--out', out]);
  expect(r.code).toBe(0);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  expect(results.metadata.timing).toEqual({ l2: 'warm', warmup: 1, minSamples: 2, budgetMs: 1 });
  expect(results.metadata.clocks.start === null ? results.metadata.clocks.unavailable : 'nvidia-smi ran').toMatch(/nvidia-smi/);
  expect(Object.keys(results.metadata.backends)).toEqual(['reference', 'torch']);
  expect(results.metadata.backends.torch.availability).toMatch(/torch/);
  expect(results.records.every((x: { backend: string }) => x.backend === 'reference')).toBe(true);
  expect(r.stderr).toContain('attn sweep: backend torch skipped: ');
});

test('ATTN_TORCH_SERVER pointing at the test fake is refused as a peer', () => {
  const out = tempDir('attn-sweep-fake-');
  const old = process.env.ATTN_TORCH_SERVER;
  process.env.ATTN_TORCH_SERVER = FAKE_TORCH_SERVER;
  try {
    const r = runCli(['sweep', ...tiny, '--backends', 'reference,torch', '--out', out]);
    expect(r.stderr).toContain(`attn sweep: backend torch skipped: ${FAKE_TORCH_SERVER} is a test fake (pure Python, no torch), not a peer`);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.records.some((x: { backend: string }) => x.backend === 'torch')).toBe(false);
  } finally {
    if (old === undefined) delete process.env.ATTN_TORCH_SERVER;
    else process.env.ATTN_TORCH_SERVER = old;
  }
});
