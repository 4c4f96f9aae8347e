import { execFileSync, spawnSync } from 'node:child_process';
import { makeProblem } from '@attn/reference';
import { afterAll, expect, test } from 'vitest';
import { createTorchBackend, torchServerScript } from '../src/peers/torch-backend.js';
import { FAKE_TORCH_SERVER } from './_helpers.js';

const hasTorch = spawnSync('python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const backends: ReturnType<typeof createTorchBackend>[] = [];
afterAll(async () => {
  for (const b of backends) await b.close();
});

test('the real server script is found beside the module and is valid Python', () => {
  const script = torchServerScript();
  expect(script).toMatch(/src\/peers\/torch_server\.py$/);
  // parse only: py_compile would leave a __pycache__ in src/
  execFileSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', script!]);
});

test.skipIf(hasTorch)('without torch the backend is unavailable with python’s one-line reason', async () => {
  const lines: string[] = [];
  const backend = createTorchBackend({ log: (l) => lines.push(l) });
  backends.push(backend);
  expect(await backend.availability()).toBe("python3 cannot import torch: No module named 'torch'");
  expect(backend.process).toBeNull();
  await expect(backend.info()).rejects.toThrow(/^torch is not available: python3 cannot import torch/);
});

test('a missing interpreter is a reason, not a crash', async () => {
  const backend = createTorchBackend({ python: '/nonexistent/python3' });
  backends.push(backend);
  expect(await backend.availability()).toMatch(/^cannot start \/nonexistent\/python3: spawn \/nonexistent\/python3 ENOENT/);
});

test('the test fake is refused as a peer unless the caller allows it', async () => {
  const backend = createTorchBackend({ script: FAKE_TORCH_SERVER });
  backends.push(backend);
  expect(await backend.availability()).toBe(`${FAKE_TORCH_SERVER} is a test fake (pure Python, no torch), not a peer`);
  await expect(backend.open(makeProblem({ bh: 1, nq: 2, d: 4 }), 'efficient')).rejects.toThrow('torch is not available');
});
