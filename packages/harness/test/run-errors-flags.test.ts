/** Unknown, missing or malformed flags exit 2 with one line naming the flag. */
import { expect, it } from 'vitest';
import { inputFlags, usageFailure } from './_helpers.js';

const fwd = { q: [2, 9, 4], k: [2, 11, 4], v: [2, 11, 4] };
const bwd = { ...fwd, dO: [2, 9, 4] };

it.each([
  { args: ['--backend', 'reference', '--stage', 'fwd', '--frobnicate', ...inputFlags(fwd)], line: "attn: Unknown option '--frobnicate' (see --help)" },
  { args: ['--backend', 'metal', '--stage', 'fwd', ...inputFlags(fwd)], line: "attn: --backend must be one of reference, cuda, wgsl, torch; got 'metal'" },
  { args: ['--backend', 'reference', '--stage', 'forward', ...inputFlags(fwd)], line: "attn: --stage must be one of lse, fwd, bwd; got 'forward'" },
  { args: ['--stage', 'fwd', ...inputFlags(fwd)], line: 'attn: missing --backend (see --help)' },
  { args: ['--backend', 'reference', ...inputFlags(fwd)], line: 'attn: missing --stage (see --help)' },
  { args: ['--backend', 'reference', '--stage', 'fwd', ...inputFlags(fwd).slice(2)], line: 'attn: missing --out (see --help)' },
  { args: ['--backend', 'reference', '--stage', 'bwd', ...inputFlags(fwd)], line: 'attn: --stage bwd needs --do dO.npy (the gradient of O)' },
  { args: ['--backend', 'reference', '--stage', 'lse', ...inputFlags(bwd)], line: 'attn: --do is only read by --stage bwd, not --stage lse' },
  { args: ['--backend', 'reference', '--stage', 'fwd', '--scale', 'big', ...inputFlags(fwd)], line: "attn: --scale must be a finite number; got 'big'" },
  { args: ['--backend', 'reference', '--stage', 'fwd', '--variant', 'fast', ...inputFlags(fwd)], line: "attn: --variant: 'fast' is not a variant (naive, tiled, exact, efficient, math, flash, cudnn, or tiled@CHOICE such as tiled@fwd3; see --help)" },
  { args: ['--backend', 'reference', '--stage', 'fwd', '--variant', 'tiled', ...inputFlags(fwd)], line: "attn: backend 'reference' has no variant 'tiled' (it has: exact)" },
  { args: ['--backend', 'reference', '--stage', 'fwd', 'extra.npy', ...inputFlags(fwd)], line: "attn: Unexpected argument 'extra.npy' (see --help)" },
])('$line', ({ args, line }) => {
  expect(usageFailure(['run', ...args])).toBe(line);
});
