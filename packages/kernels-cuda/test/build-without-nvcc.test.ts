/** Without nvcc the build still succeeds (exit 0, one line), and the backend then says it was not built. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { makeProblem } from '@attn/reference';
import { loadAddon } from '../src/addon.js';
import { CudaBackend } from '../src/backend.js';
import { BUILD_SCRIPT } from './_helpers.js';

it('build-addon.mjs exits 0 saying nvcc was not found; availability() names the reason', async () => {
  const buildDir = mkdtempSync(join(tmpdir(), 'attn-cuda-nonvcc-'));
  const r = spawnSync(process.execPath, [BUILD_SCRIPT], {
    encoding: 'utf8',
    env: { ...process.env, NVCC: join(buildDir, 'no-such-nvcc'), ATTN_CUDA_BUILD_DIR: buildDir },
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toBe('nvcc not found: CUDA backend not built\n');
  const addonFile = join(buildDir, 'Release', 'attn_cuda.node');
  expect(existsSync(addonFile)).toBe(false);

  const backend = new CudaBackend(loadAddon(addonFile));
  expect(await backend.availability()).toBe('CUDA backend not built: nvcc not found');
  expect(backend.variants).toEqual(['naive']);
  await expect(backend.open(makeProblem({ bh: 1, nq: 1, d: 1 }), 'naive')).rejects.toThrow(
    'CUDA backend not built: nvcc not found',
  );
});
