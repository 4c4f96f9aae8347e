/**
 * The odd shapes: where attention kernels go wrong first. One list, run by every backend's tests, the CUDA emulator
 * and the verify preset, each causal and not: N = 1, 17, 129 (past a tile of 16, 64 or 128 by one), Nq ≠ Nk both ways
 * (Nq > Nk makes causal rows that see no key), head dims that are not powers of two or not multiples of 4, dv ≠ d,
 * one key (dS = P·(dP − D) cancels to zero), bh > 1, and every head-dim bucket of the tiled kernels (32, 64, 128, 256).
 */
import type { ProblemInit } from './problem.js';

export interface OddShape extends Required<Pick<ProblemInit, 'bh' | 'nq' | 'nk' | 'd'>> {
  dv?: number;
  /** what the shape is there to catch */
  why: string;
  /** d or dv above 128: slow on CPU adapters and in the emulator, run where a test can afford it */
  large?: true;
}

export const ODD_SHAPES: readonly OddShape[] = [
  { bh: 2, nq: 1, nk: 1, d: 8, why: 'one query, one key' },
  { bh: 3, nq: 17, nk: 64, d: 40, why: 'Nq < Nk, d not a power of two, bh > 1' },
  { bh: 1, nq: 129, nk: 17, d: 64, why: 'Nq > Nk: causal rows that see no key' },
  { bh: 3, nq: 64, nk: 129, d: 8, why: 'N one past a tile' },
  { bh: 1, nq: 17, nk: 17, d: 128, why: 'the 128 bucket, N = 17' },
  { bh: 1, nq: 64, nk: 17, d: 3, dv: 40, why: 'dv ≠ d, d not a multiple of 4' },
  { bh: 2, nq: 129, nk: 1, d: 128, why: 'one key: dS cancels to zero' },
  { bh: 1, nq: 1, nk: 129, d: 100, dv: 128, why: 'one query over many keys, d not a multiple of 8' },
  { bh: 1, nq: 129, nk: 129, d: 61, why: 'N = 129 square, odd d' },
  { bh: 2, nq: 17, nk: 129, d: 24, dv: 20, why: 'the 32 bucket, dv < d' },
  { bh: 1, nq: 33, nk: 70, d: 200, dv: 130, why: 'the 256 bucket, dv ≠ d', large: true },
  { bh: 1, nq: 40, nk: 33, d: 256, why: 'the largest head dim', large: true },
];

/** ODD_SHAPES without the large head dims. */
export const SMALL_ODD_SHAPES: readonly OddShape[] = ODD_SHAPES.filter((s) => !s.large);
