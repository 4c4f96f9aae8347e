/** sampleRows: deterministic, the requested count, the edge rows first, every row when there are few. */
import { expect, it } from 'vitest';
import { makeProblem, sampleRows } from '../src/index.js';

it('is deterministic in (problem, count, seed) and draws other rows for another seed', () => {
  const p = makeProblem({ bh: 4, nq: 1000, nk: 700, d: 8, causal: true });
  expect(sampleRows(p, 40, 5)).toEqual(sampleRows(p, 40, 5));
  expect(sampleRows(p, 40, 5).queryRows).not.toEqual(sampleRows(p, 40, 6).queryRows);
});

it('gives count sorted distinct rows per side, including first, last and causal-edge rows of every bh', () => {
  const p = makeProblem({ bh: 2, nq: 1000, nk: 700, d: 8, causal: true });
  const { queryRows, keyRows } = sampleRows(p, 32, 1);
  for (const rows of [queryRows, keyRows]) {
    expect(rows).toHaveLength(32);
    expect(new Set(rows).size).toBe(32);
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
  }
  for (const b of [0, 1]) {
    // first query row that sees a key is nq − nk = 300; row 299 is the last fully masked one
    for (const i of [0, 299, 300, 301, 999]) expect(queryRows).toContain(b * 1000 + i);
    for (const j of [0, 699]) expect(keyRows).toContain(b * 700 + j);
  }
  expect(queryRows.every((r) => r >= 0 && r < 2000)).toBe(true);
  expect(keyRows.every((r) => r >= 0 && r < 1400)).toBe(true);
});

it('returns every row of a side with no more rows than asked for', () => {
  const p = makeProblem({ bh: 1, nq: 5, nk: 50, d: 3 });
  const { queryRows, keyRows } = sampleRows(p, 8, 0);
  expect(queryRows).toEqual([0, 1, 2, 3, 4]);
  expect(keyRows).toHaveLength(8);
});

it('gives edge rows at most half of a tight count: every bh its first row, then last rows; the rest random', () => {
  const p = makeProblem({ bh: 16, nq: 512, nk: 256, d: 8, causal: true });
  const { queryRows } = sampleRows(p, 40, 9);
  expect(queryRows).toHaveLength(40);
  for (let b = 0; b < 16; b++) expect(queryRows).toContain(b * 512);
  // 20 edge rows: 16 first rows, then the last rows of bh 0, 15, 1, 2
  for (const b of [0, 15, 1, 2]) expect(queryRows).toContain(b * 512 + 511);
  const edges = new Set([...Array.from({ length: 16 }, (_, b) => b * 512), ...[0, 15, 1, 2].map((b) => b * 512 + 511)]);
  expect(queryRows.filter((r) => !edges.has(r)).length).toBe(20);
});
