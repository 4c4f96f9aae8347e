/** A missing, unreadable or malformed input file exits 2 with one line naming the tensor, the file and the problem. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { inputFlags, rawNpy, tempDir, usageFailure } from './_helpers.js';

const run = ['run', '--backend', 'reference', '--stage', 'fwd'];
const good = { q: [2, 9, 4], k: [2, 11, 4], v: [2, 11, 4] };

/** The good flags with --k pointing at `path`. */
function withK(path: string): string[] {
  const flags = inputFlags(good);
  flags[flags.indexOf('--k') + 1] = path;
  return [...run, ...flags];
}

function badFile(name: string, bytes: Uint8Array): string {
  const path = join(tempDir(), name);
  writeFileSync(path, bytes);
  return path;
}

it('names a missing file', () => {
  const path = join(tempDir(), 'nowhere.npy');
  expect(usageFailure(withK(path))).toBe(`attn: K file '${path}' not found`);
});

it('names a directory given as a file', () => {
  const path = join(tempDir(), 'adir');
  mkdirSync(path);
  expect(usageFailure(withK(path))).toBe(`attn: K file '${path}' is a directory`);
});

it('names an unsupported dtype', () => {
  const path = badFile('int.npy', rawNpy('<i4', [2, 11, 4], new Uint8Array(2 * 11 * 4 * 4)));
  const line = usageFailure(withK(path));
  expect(line.startsWith(`attn: K file '${path}': `)).toBe(true);
  expect(line).toContain('<i4');
});

it('names fortran order', () => {
  const path = badFile('fortran.npy', rawNpy('<f4', [2, 11, 4], new Uint8Array(2 * 11 * 4 * 4), true));
  const line = usageFailure(withK(path));
  expect(line.startsWith(`attn: K file '${path}': `)).toBe(true);
  expect(line.toLowerCase()).toContain('fortran');
});

it('names a truncated file', () => {
  const path = badFile('short.npy', rawNpy('<f4', [2, 11, 4], new Uint8Array(10)));
  expect(usageFailure(withK(path)).startsWith(`attn: K file '${path}': `)).toBe(true);
});

it('names a file that is not .npy at all', () => {
  const path = badFile('text.npy', new TextEncoder().encode('q,k,v\n1,2,3\n'));
  expect(usageFailure(withK(path)).startsWith(`attn: K file '${path}': `)).toBe(true);
});
