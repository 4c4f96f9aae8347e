/**
 * Where nvcc built the addon (no GPU needed): it exports the version table of kernels/tiled/versions.h as it is, and
 * its Session refuses a choice that names a version the table lacks, a version that does not take the problem's dtype,
 * a malformed choice or dtype, before touching a device.
 */
import { expect, it } from 'vitest';
import { makeProblem } from '@attn/reference';
import type { AddonChoice } from '../src/addon.js';
import { loadAddon } from '../src/addon.js';
import { ADDON, GXX_HERE, literal, nvccHere, takersOf, versionTableFromHeader } from './_helpers.js';

it.skipIf(!nvccHere() || !GXX_HERE)('the addon exports the version table and refuses unknown versions', () => {
  const load = loadAddon(ADDON);
  if (!('addon' in load)) throw new Error(load.reason);
  const { addon } = load;
  expect(addon.tiledAvailable).toBe(true);
  const table = versionTableFromHeader();
  expect(addon.tiledVersions).toEqual(table);

  const p = makeProblem({ bh: 1, nq: 4, nk: 4, d: 64 });
  expect(() => new addon.Session(p, 'tiled', { lse: 3, forward: 9, backward: 3, shape: -1, longScores: false })).toThrow(
    /^no tiled kernel version fwd9 \(cuda tiled bh=1 nq=4 nk=4 d=64 dv=64\)$/,
  );
  const malformed = { lse: 3, forward: 4, backward: 3, shape: 2, longScores: false } as unknown as AddonChoice;
  expect(() => new addon.Session(p, 'tiled', malformed)).toThrow(/^choice must be \{lse, forward, backward/);
  // a version that does not take the problem's dtype: refused by the native plan in one line naming the versions that
  // do, never run as another version — a float32-only one in float16, a half-only one in float32
  const p16 = makeProblem({ bh: 1, nq: 4, nk: 4, d: 64, dtype: 'float16' });
  const fwd4In16 = `fwd4 takes float32, not float16 (${takersOf(table, 'forward', 'float16')}) (cuda tiled bh=1 nq=4 nk=4 d=64 dv=64 float16)`;
  expect(() => new addon.Session(p16, 'tiled', { lse: 1, forward: 4, backward: 1, shape: -1, longScores: false })).toThrow(new RegExp(`^${literal(fwd4In16)}$`));
  const halfOnly = table.versions.find((v) => v.stage === 'forward' && !v.dtypes.includes('float32'));
  expect(halfOnly, 'a forward version without float32').toBeDefined();
  const halfIn32 = `fwd${halfOnly!.version} takes ${halfOnly!.dtypes.join(', ')}, not float32 (${takersOf(table, 'forward', 'float32')}) (cuda tiled bh=1 nq=4 nk=4 d=64 dv=64)`;
  expect(() => new addon.Session(p, 'tiled', { lse: 1, forward: halfOnly!.version, backward: 1, shape: -1, longScores: false })).toThrow(
    new RegExp(`^${literal(halfIn32)}$`),
  );
  const badDtype = { ...p, dtype: 'float8' } as unknown as typeof p;
  expect(() => new addon.Session(badDtype, 'naive')).toThrow(/^problem\.dtype must be 'float32', 'float16' or 'bfloat16'$/);
});
