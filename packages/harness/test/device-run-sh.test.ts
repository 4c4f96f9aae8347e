/**
 * device/run.sh, the GPU bundle's launcher, adds nothing to stderr unless asked (ATTN_VERBOSE=1): a refusal through
 * it is exactly the CLI's one 'attn:' line, a good run prints nothing there. The bundle is laid out in a temp folder
 * as device-pack.sh lays it out, except that bin/node execs this Node, attn.mjs imports the built CLI and
 * reference-worker.mjs the built worker (no esbuild bundle needed); run in a bare environment with the .deb step
 * skipped, as scripts/device-selftest.sh runs the real bundle.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { Rng } from '@attn/reference';
import { CLI, normalTensor, saveNpy, tempDir } from './_helpers.js';

const repo = resolve(import.meta.dirname, '../../..');

function fakeBundle(): string {
  const dir = join(tempDir('attn-bundle-'), 'device');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(join(repo, 'device/run.sh'), join(dir, 'run.sh'));
  writeFileSync(join(dir, 'bin/node'), `#!/bin/sh\nexec '${process.execPath}' "$@"\n`);
  chmodSync(join(dir, 'bin/node'), 0o755);
  writeFileSync(join(dir, 'attn.mjs'), `import '${pathToFileURL(CLI).href}';\n`);
  const worker = join(repo, 'packages/reference/dist/reference-worker.js');
  writeFileSync(join(dir, 'reference-worker.mjs'), `import '${pathToFileURL(worker).href}';\n`);
  writeFileSync(join(dir, 'COMMIT'), 'test\n');
  return dir;
}

function runSh(bundle: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('bash', [join(bundle, 'run.sh'), ...args], {
    encoding: 'utf8',
    timeout: 110_000,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: bundle, ATTN_SKIP_DPKG: '1', ...env },
  });
  if (r.error) throw r.error;
  return r;
}

/** Inputs with a NaN in K (refused) or without (runs). */
function flags(nan: boolean): string[] {
  const rng = new Rng(5);
  const dir = tempDir();
  const k = normalTensor(rng, [2, 11, 4]);
  if (nan) k[1 * 44 + 3 * 4 + 2] = NaN;
  return [
    '--out', `${dir}/out`,
    '--q', saveNpy(dir, 'q', normalTensor(rng, [2, 9, 4]), [2, 9, 4]),
    '--k', saveNpy(dir, 'k', k, [2, 11, 4]),
    '--v', saveNpy(dir, 'v', normalTensor(rng, [2, 11, 4]), [2, 11, 4]),
  ];
}

const run = ['run', '--backend', 'reference', '--stage', 'fwd'];
const refusal = 'attn: K has 1 non-finite value (first at [1,3,2]: NaN); pass --allow-nonfinite to run anyway\n';

it('a refusal through run.sh is exactly one line on stderr', () => {
  const r = runSh(fakeBundle(), [...run, ...flags(true)]);
  expect(r.stderr).toBe(refusal);
  expect(r.status).toBe(2);
});

it('a bad flag through run.sh is exactly one line on stderr', () => {
  const r = runSh(fakeBundle(), [...run, '--scale', 'big', ...flags(false)]);
  expect(r.stderr).toBe("attn: --scale must be a finite number; got 'big'\n");
  expect(r.status).toBe(2);
});

it('a good run through run.sh prints nothing on stderr', () => {
  const r = runSh(fakeBundle(), [...run, ...flags(false)]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^backend {2}reference exact/);
});

it('ATTN_VERBOSE=1 brings the notes back, before the refusal', () => {
  const r = runSh(fakeBundle(), [...run, ...flags(true)], { ATTN_VERBOSE: '1' });
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toEqual([
    'run.sh: ATTN_SKIP_DPKG=1, loader .debs not installed',
    expect.stringMatching(/^run\.sh: node v\d+\.\d+\.\d+, bundle test, attn run --backend reference/),
    refusal.trimEnd(),
  ]);
  expect(r.status).toBe(2);
});
