/**
 * `attn run --help` and `attn sweep --help` list every kernel version of a backend that publishes its version table,
 * with the dtypes each takes and the dtypes it is the default for (the CUDA table says them per row).
 */
import { expect, it } from 'vitest';
import { loadBackend } from '../src/backends.js';
import { runCli } from './_helpers.js';

const cuda = await loadBackend('cuda').catch(() => null);
const versions = cuda?.kernelVersions ?? [];

it.skipIf(!versions.some((v) => v.dtypes))('shows the dtypes of each CUDA version in run and sweep --help', () => {
  for (const command of ['run', 'sweep']) {
    const r = runCli([command, '--help']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const start = lines.indexOf('cuda tiled@… (join with +):');
    expect(start, command).toBeGreaterThan(0);
    for (const v of versions) {
      const token = { lse: 'lse', forward: 'fwd', backward: 'bwd' }[v.stage] + v.version;
      const line = lines.slice(start).find((l) => l.startsWith(`  ${token.padEnd(6)} `));
      expect(line, `${command}: ${token}`).toBeDefined();
      expect(line!.endsWith(`; dtypes ${v.dtypes!.join(', ')}`), `${command}: ${line}`).toBe(true);
      if (v.defaultFor?.length) expect(line, `${command}: ${token}`).toContain(`(default for ${v.defaultFor.join(', ')})`);
    }
  }
});
