import { execFileSync, spawnSync } from 'node:child_process';
import { makeProblem } from '@attn/reference';
import { expect, test } from 'vitest';
import { peerScript, runTorchPeers } from '../src/peers/torch.js';

const problems = [makeProblem({ bh: 2, nq: 64, d: 16 })];
const timing = { warmup: 1, minSamples: 2, budgetMs: 1 };
const hasTorch = spawnSync('python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

test('the peer script exists beside the module and is valid Python', () => {
  const script = peerScript();
  expect(script).toMatch(/sdpa_peer\.py$/);
  // parse only: py_compile would leave a __pycache__ in src/
  execFileSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', script!]);
});

test.skipIf(hasTorch)('without torch, the peers are recorded as unavailable with python’s reason, and no records', async () => {
  const lines: string[] = [];
  const run = await runTorchPeers(problems, ['fwd', 'bwd'], timing, (l) => lines.push(l));
  expect(run.records).toEqual([]);
  expect(run.backends['torch-sdpa']!.availability).toMatch(/^python3 cannot import torch: No module named 'torch'/);
  expect(lines.at(-1)).toMatch(/^torch peers skipped: python3 cannot import torch/);
});

test('a correctness-only sweep or an lse-only sweep has nothing to time against', async () => {
  expect((await runTorchPeers(problems, ['fwd'], null, () => undefined)).backends['torch-sdpa']!.availability).toContain('correctness-only');
  expect((await runTorchPeers(problems, ['lse'], timing, () => undefined)).backends['torch-sdpa']!.availability).toContain('no lse-only stage');
});
