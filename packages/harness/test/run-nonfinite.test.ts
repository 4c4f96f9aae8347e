/** NaN or Inf in an input exits 2 naming the tensor, the count and the first position, unless --allow-nonfinite. */
import { expect, it } from 'vitest';
import { Rng } from '@attn/reference';
import { normalTensor, runCli, saveNpy, tempDir, usageFailure } from './_helpers.js';

function flags(): string[] {
  const rng = new Rng(7);
  const dir = tempDir();
  const k = normalTensor(rng, [2, 11, 4]);
  k[1 * 44 + 3 * 4 + 2] = NaN;
  k[1 * 44 + 5 * 4 + 0] = Infinity;
  return [
    '--out', `${dir}/out`,
    '--q', saveNpy(dir, 'q', normalTensor(rng, [2, 9, 4]), [2, 9, 4]),
    '--k', saveNpy(dir, 'k', k, [2, 11, 4]),
    '--v', saveNpy(dir, 'v', normalTensor(rng, [2, 11, 4]), [2, 11, 4]),
  ];
}

it('refuses non-finite inputs by default', () => {
  expect(usageFailure(['run', '--backend', 'reference', '--stage', 'fwd', ...flags()])).toBe(
    'attn: K has 2 non-finite values (first at [1,3,2]: NaN); pass --allow-nonfinite to run anyway',
  );
});

it('runs them with --allow-nonfinite', () => {
  const r = runCli(['run', '--backend', 'reference', '--stage', 'fwd', '--allow-nonfinite', ...flags()]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});
