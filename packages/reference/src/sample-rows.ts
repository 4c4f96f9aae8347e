/**
 * Which rows a row-sampled check looks at: the rows where kernels go wrong first (first and last row of each bh, and
 * around the causal edge: the last fully masked query row, the first query row that sees a key, the last key the first
 * query row sees), then seeded random rows up to the count. Edge rows take at most half of the count — with many heads
 * they would otherwise take all of it (BH = 16, 8 rows: eight row 0s, each of which sees one key in a causal square
 * problem) — first rows of all bh first, then last rows, then the causal edges. Deterministic in (problem, count,
 * seed).
 */
import type { Problem } from './problem.js';
import { Rng } from './rng.js';

/** Flat rows: query r = b·nq + i, key c = b·nk + j. Sorted, no duplicates. */
export interface RowSample {
  queryRows: number[];
  keyRows: number[];
}

/** Edge rows of one bh, relative to the bh (0 … n−1), most telling first. */
function edges(n: number, other: number, causal: boolean, side: 'query' | 'key'): number[] {
  const out = [0, n - 1];
  if (causal) {
    // query i sees key j iff j ≤ i + (nk − nq)
    if (side === 'query') {
      const firstSeeing = Math.max(0, n - other);
      out.push(firstSeeing, firstSeeing - 1, firstSeeing + 1);
    } else {
      const lastSeenByFirst = n - other;
      out.push(lastSeenByFirst, lastSeenByFirst + 1);
    }
  }
  return out.filter((i) => i >= 0 && i < n);
}

function uniformIndex(rng: Rng, total: number): number {
  const u = (rng.nextUint32() * 2 ** 21 + (rng.nextUint32() >>> 11)) / 2 ** 53;
  return Math.floor(u * total);
}

function sampleSide(bh: number, n: number, other: number, causal: boolean, side: 'query' | 'key', count: number, rng: Rng): number[] {
  const total = bh * n;
  if (count >= total) return Array.from({ length: total }, (_, r) => r);
  const chosen = new Set<number>();
  const edgeRows = edges(n, other, causal, side);
  const order = bh === 1 ? [0] : [0, bh - 1, ...Array.from({ length: bh - 2 }, (_, b) => b + 1)];
  // one kind of edge row in every bh before the next kind, so each bh gets its first and last row first
  const edgeBudget = Math.ceil(count / 2);
  for (const i of edgeRows) {
    for (const b of order) {
      if (chosen.size >= edgeBudget) break;
      chosen.add(b * n + i);
    }
  }
  while (chosen.size < count) chosen.add(uniformIndex(rng, total));
  return [...chosen].sort((a, b) => a - b);
}

/** `count` rows per side (every row of a side that has no more than that). */
export function sampleRows(problem: Problem, count: number, seed: number): RowSample {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`sampleRows: count must be a positive integer, got ${count}`);
  const { bh, nq, nk, causal } = problem;
  return {
    queryRows: sampleSide(bh, nq, nk, causal, 'query', count, new Rng(seed)),
    keyRows: sampleSide(bh, nk, nq, causal, 'key', count, new Rng((seed ^ 0x5bd1e995) >>> 0)),
  };
}
