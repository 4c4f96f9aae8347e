/** `attn run --backend cuda` on a machine without a CUDA device: exit 2 and one line saying no device was found. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { Rng, writeNpy } from '@attn/reference';
import { GPU_MISSING, PACKAGE_DIR } from './_helpers.js';

const CLI = resolve(PACKAGE_DIR, '../harness/dist/cli.js');
const RUN_SOURCE = resolve(PACKAGE_DIR, '../harness/src/commands/run.ts');
const skip = !existsSync(RUN_SOURCE) ? 'attn run not written yet' : !existsSync(CLI) ? 'harness not built' : GPU_MISSING === null ? 'a CUDA device is present' : null;

it.skipIf(skip !== null)(`attn run --backend cuda exits 2 with one line${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-cuda-cli-'));
  const rng = new Rng(91);
  const file = (name: string) => {
    const data = new Float32Array(2 * 17 * 5).map(() => rng.normal());
    writeFileSync(join(dir, `${name}.npy`), writeNpy(data, [2, 17, 5]));
    return join(dir, `${name}.npy`);
  };
  const args = ['run', '--backend', 'cuda', '--stage', 'fwd', '--q', file('q'), '--k', file('k'), '--v', file('v'), '--out', join(dir, 'out')];
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(GPU_MISSING!);
});
