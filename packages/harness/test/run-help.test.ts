/** attn run --help prints the usage, every flag and an example, and exits 0. */
import { expect, it } from 'vitest';
import { runCli } from './_helpers.js';

it('documents every flag', () => {
  const r = runCli(['run', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout.startsWith('Usage: attn run')).toBe(true);
  for (const flag of ['--backend', '--stage', '--q', '--k', '--v', '--do', '--out', '--causal', '--scale', '--variant', '--allow-nonfinite']) {
    expect(r.stdout).toContain(`  ${flag}`);
  }
  expect(r.stdout).toMatch(/Example:\n\s+attn run /);
});
