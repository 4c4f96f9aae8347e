/**
 * The shared non-finite scan reports a count and the first element's coordinates; on outputs it exempts only the
 * −inf lse of a row that sees no key and elements still poisoned (unwritten, reported apart).
 */
import { expect, it } from 'vitest';
import { describeNonFinite, makeProblem, poisonArray, scanNonFinite, unexpectedNonFinite, unflattenIndex } from '../src/index.js';

it('counts NaN and ±inf and gives the first as coordinates', () => {
  const shape = [2, 3, 4];
  const data = new Float32Array(24).fill(1);
  data[1 * 12 + 2 * 4 + 1] = -Infinity;
  data[1 * 12 + 0 * 4 + 3] = NaN;
  data[23] = Infinity;
  const scan = scanNonFinite(data, shape);
  expect(scan).toEqual({ count: 3, first: [1, 0, 3], value: NaN });
  expect(describeNonFinite('K', scan!)).toBe('K has 3 non-finite values (first at [1,0,3]: NaN)');
  expect(scanNonFinite(new Float64Array(5), [5])).toBeNull();
  expect(unflattenIndex(23, [2, 1, 3, 4])).toEqual([1, 0, 2, 3]);
});

it('exempts the −inf lse of a row that sees no key, and nothing else', () => {
  // causal, nq 4 > nk 2: rows 0 and 1 see no key
  const p = makeProblem({ bh: 2, nq: 4, nk: 2, d: 3, causal: true });
  const lse = new Float32Array([-Infinity, -Infinity, 0.5, 0.7, -Infinity, -Infinity, 0.1, 0.2]);
  expect(unexpectedNonFinite(p, 'lse', lse, [2, 4])).toBeNull();
  lse[6] = -Infinity;
  lse[1] = NaN;
  expect(unexpectedNonFinite(p, 'lse', lse, [1, 2, 4])).toEqual({ count: 2, first: [0, 0, 1], value: NaN });
  const o = new Float32Array(2 * 4 * 3);
  o[0] = -Infinity;
  expect(unexpectedNonFinite(p, 'o', o, [2, 4, 3])).toEqual({ count: 1, first: [0, 0, 0], value: -Infinity });
});

it('leaves poisoned (unwritten) elements to countPoisoned', () => {
  const p = makeProblem({ bh: 1, nq: 2, nk: 2, d: 2 });
  const o = new Float64Array(4);
  poisonArray(o);
  o[1] = 0.5;
  o[3] = NaN;
  expect(unexpectedNonFinite(p, 'o', o, [1, 2, 2])).toEqual({ count: 1, first: [0, 1, 1], value: NaN });
});
