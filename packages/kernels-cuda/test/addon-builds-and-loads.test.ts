/** Where nvcc exists, the package build produced attn_cuda.node and it loads here, with or without a GPU. */
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { makeProblem } from '@attn/reference';
import { loadAddon } from '../src/addon.js';
import { ADDON, nvccHere } from './_helpers.js';

it.skipIf(!nvccHere())('the addon is built and loads (no GPU needed)', () => {
  expect(existsSync(ADDON), `${ADDON} missing: run pnpm build`).toBe(true);
  const load = loadAddon(ADDON);
  if (!('addon' in load)) throw new Error(load.reason);
  const { addon } = load;
  expect(addon.built).toBe(true);
  expect(addon.buildId).toMatch(/^attn_cuda cudart \d+\.\d+ built /);
  expect(typeof addon.tiledAvailable).toBe('boolean');
  expect(addon.tiledMaxD > 0).toBe(addon.tiledAvailable);
  // A host-side function: answers without a device.
  const p = makeProblem({ bh: 3, nq: 17, nk: 129, d: 40 });
  expect(addon.scratchBytes(p, 'naive')).toBe(3 * 17 * 129 * 4);
});
