/**
 * The README's table of kernel versions is the version table of kernels/tiled/versions.h: every row, in order, with
 * the dtypes it is the default for, the dtypes it takes, its technique, limits and the report that measured it — and
 * that report is in the repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE_TOKENS } from '@attn/reference';
import { GXX_HERE, PACKAGE_DIR, versionTableFromHeader } from './_helpers.js';

const REPO = join(PACKAGE_DIR, '..', '..');

/** The README table's rows: cells of the lines that start with a version token in backticks. */
function readmeRows(): string[][] {
  const readme = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
  return readme
    .split('\n')
    .filter((l) => /^\| `(lse|fwd|bwd)\d+` \|/.test(l))
    .map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|')));
}

describe.skipIf(!GXX_HERE)('README: the kernel versions', () => {
  it('lists every row of the version table as the table has it', () => {
    const table = versionTableFromHeader();
    const rows = readmeRows();
    const token = (stage: string) => Object.entries(STAGE_TOKENS).find(([, s]) => s === stage)![0];
    expect(rows.map((r) => r[0])).toEqual(table.versions.map((v) => `\`${token(v.stage)}${v.version}\``));
    for (const [i, v] of table.versions.entries()) {
      const [name, defaultFor, dtypes, technique, limits, measured] = rows[i]!;
      expect(defaultFor, name).toBe(v.defaultFor.join(', '));
      expect(dtypes, name).toBe(v.dtypes.join(', '));
      expect(technique, name).toBe(v.technique);
      expect(limits, name).toBe(v.limits || 'every head dim ≤ 256');
      expect(measured, name).toBe(v.measured || 'not yet measured');
      if (v.measured) expect(existsSync(join(REPO, v.measured)), `${name}: ${v.measured}`).toBe(true);
    }
  });
});
