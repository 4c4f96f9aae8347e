/** Every shape mismatch between Q, K, V and dO exits 2 with one line that prints the shapes and names the problem. */
import { expect, it } from 'vitest';
import { inputFlags, usageFailure } from './_helpers.js';

const run = ['run', '--backend', 'reference', '--stage', 'bwd'];

it.each([
  {
    shapes: { q: [3, 77, 41], k: [3, 131, 40], v: [3, 131, 40], dO: [3, 77, 40] },
    line: 'attn: K is [3,131,40] but Q is [3,77,41]: head dims differ',
  },
  {
    shapes: { q: [3, 77, 40], k: [2, 131, 40], v: [3, 131, 40], dO: [3, 77, 40] },
    line: 'attn: K is [2,131,40] but Q is [3,77,40]: batch×heads (BH) differ',
  },
  {
    shapes: { q: [3, 77, 40], k: [3, 131, 40], v: [3, 130, 40], dO: [3, 77, 40] },
    line: 'attn: V is [3,130,40] but K is [3,131,40]: key counts differ',
  },
  {
    shapes: { q: [3, 77, 40], k: [3, 131, 40], v: [3, 131, 40], dO: [3, 76, 40] },
    line: 'attn: dO is [3,76,40] but Q is [3,77,40]: query counts differ',
  },
  {
    shapes: { q: [3, 77, 40], k: [3, 131, 40], v: [3, 131, 24], dO: [3, 77, 40] },
    line: 'attn: dO is [3,77,40] but V is [3,131,24]: value dims differ',
  },
  {
    shapes: { q: [2, 3, 17, 8], k: [2, 4, 17, 8], v: [2, 4, 17, 8], dO: [2, 3, 17, 8] },
    line: 'attn: K is [2,4,17,8] but Q is [2,3,17,8]: batch or head counts differ',
  },
  {
    shapes: { q: [2, 3, 17, 8], k: [6, 17, 8], v: [6, 17, 8], dO: [2, 3, 17, 8] },
    line: 'attn: K is [6,17,8] but Q is [2,3,17,8]: ranks differ (3-D vs 4-D); give every input the same layout',
  },
  {
    shapes: { q: [77, 40], k: [131, 40], v: [131, 40], dO: [77, 40] },
    line: 'attn: Q is [77,40]: expected 3-D [BH,N,d] or 4-D [B,H,N,d]',
  },
  {
    shapes: { q: [3, 0, 40], k: [3, 131, 40], v: [3, 131, 40], dO: [3, 0, 40] },
    line: 'attn: Q is [3,0,40]: every dimension must be at least 1',
  },
])('$line', ({ shapes, line }) => {
  expect(usageFailure([...run, ...inputFlags(shapes)])).toBe(line);
});
