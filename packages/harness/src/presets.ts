/**
 * Named sweeps. A preset is a union of blocks (each a cartesian product of shapes, or a list of problems), plus how
 * hard to time.
 * Shapes are listed as (nq, nk) pairs so Nq ≠ Nk cases sit beside the square ones.
 */
import type { Dtype, L2Mode, Pipeline, ProblemInit, Variant } from '@attn/reference';
import { ODD_SHAPES } from '@attn/reference';
import type { BackendName } from './backends.js';
import { TORCH_VARIANTS } from './peers/torch-backend.js';

export const PRESET_NAMES = ['cpu', 'gpu', 'half', 'verify'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface ShapeBlock {
  /** instead of sizes × ds × bh: these problems as they are (each with its own bh, dv), still × causal × scoreStd */
  list?: readonly ProblemInit[];
  sizes: readonly (readonly [nq: number, nk: number])[];
  ds: readonly number[];
  causal: readonly boolean[];
  bh: readonly number[];
  /** score magnitudes (std of the scaled scores; @attn/reference InputOptions); default [1] */
  scoreStd?: readonly number[];
  /** storage dtypes (@attn/reference dtype.ts); default ['float32'] */
  dtypes?: readonly Dtype[];
}

export interface TimingDefaults {
  warmup: number;
  minSamples: number;
  /** wall-time budget per timed record, ms */
  budgetMs: number;
  /** 'cold': the L2 is scrubbed before every sample (what FlashAttention's and triton's benchmarks do) */
  l2: L2Mode;
}

export interface Preset {
  name: PresetName;
  description: string;
  /**
   * backends tried when the preset is named and --backends is not given (without --preset: cuda and wgsl); the
   * float64 reference is only timed when asked for (it is slow)
   */
  backends: readonly BackendName[];
  variants: readonly Variant[];
  pipelines: readonly Pipeline[];
  blocks: readonly ShapeBlock[];
  /** null: correctness only */
  timing: TimingDefaults | null;
  /** query rows per bh checked against the reference when a problem is too large to check in full */
  sampleRows: number;
}

const square = (ns: readonly number[]): (readonly [number, number])[] => ns.map((n) => [n, n] as const);
const both = [false, true] as const;
const ALL_VARIANTS: readonly Variant[] = ['naive', 'tiled', 'exact'];
const ALL_PIPELINES: readonly Pipeline[] = ['lse', 'fwd', 'bwd'];
/** the score-magnitude axis of the verify preset (std of the scaled scores) */
export const SCORE_STDS: readonly number[] = [8, 128, 1024];

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  cpu: {
    name: 'cpu',
    description: 'the CPU (lavapipe) adapter, small shapes: N ≤ 256, d ≤ 64, a few minutes on 2 cores',
    backends: ['cuda', 'wgsl'],
    variants: ALL_VARIANTS,
    pipelines: ALL_PIPELINES,
    blocks: [
      { sizes: square([32, 64, 128, 256]), ds: [16, 64], causal: both, bh: [2] },
      { sizes: [[17, 129], [129, 17]], ds: [40], causal: both, bh: [2] },
    ],
    timing: { warmup: 1, minSamples: 3, budgetMs: 150, l2: 'cold' },
    sampleRows: 64,
  },
  gpu: {
    name: 'gpu',
    description: 'a real GPU: N 128 … 16384, d 32 … 256, BH 16 (the shapes of the speed targets: N 1024 … 16384, d 64/128, causal and not)',
    backends: ['cuda', 'wgsl'],
    variants: ALL_VARIANTS,
    pipelines: ALL_PIPELINES,
    blocks: [
      { sizes: square([128, 256, 512, 1024, 2048, 4096, 8192, 16384]), ds: [32, 64, 128, 256], causal: [false], bh: [16] },
      { sizes: square([1024, 2048, 4096, 8192, 16384]), ds: [64, 128], causal: [true], bh: [16] },
    ],
    timing: { warmup: 3, minSamples: 10, budgetMs: 250, l2: 'cold' },
    sampleRows: 64,
  },
  half: {
    name: 'half',
    description:
      'half precision on a real GPU (the H200 run): BH 16, N 1024/4096/16384, d 64/128, causal and not, float16 and bfloat16, ' +
      'then float32 at N 4096 for the comparison; cuda, wgsl and torch (efficient, math, flash, cudnn), naive and tiled. ' +
      '28 problems; the float32 H200 run of these shapes took about a minute per problem: split it across device calls ' +
      'with --dtypes and --d (one dtype and one d, 6 problems, per call)',
    backends: ['cuda', 'wgsl', 'torch'],
    variants: ['naive', 'tiled', ...TORCH_VARIANTS],
    pipelines: ALL_PIPELINES,
    // naive that does not fit (wgsl's N = 16384 score matrices over the adapter's buffer limit, out of memory) is
    // refused by its backend's check or at open: a skipped record, as in the gpu preset
    blocks: [
      { sizes: square([1024, 4096, 16384]), ds: [64, 128], causal: both, bh: [16], dtypes: ['float16', 'bfloat16'] },
      // float32 beside them at one N: the half tables' "vs float32" column (every float32 shape is in reports/h200)
      { sizes: square([4096]), ds: [64, 128], causal: both, bh: [16], dtypes: ['float32'] },
    ],
    timing: { warmup: 3, minSamples: 5, budgetMs: 100, l2: 'cold' },
    sampleRows: 64,
  },
  verify: {
    name: 'verify',
    description: 'correctness only: every pipeline × variant × causal/not on the odd shapes (@attn/reference ODD_SHAPES), large N, Nq ≠ Nk, d 16 … 256; score std 1 … 1024 on small shapes',
    backends: ['cuda', 'wgsl'],
    variants: ALL_VARIANTS,
    pipelines: ALL_PIPELINES,
    blocks: [
      { list: ODD_SHAPES, sizes: [], ds: [], causal: both, bh: [] },
      { sizes: square([1024, 4096, 16384]), ds: [16, 40, 64, 128, 256], causal: both, bh: [2] },
      { sizes: [[1, 129], [129, 1], [17, 1024], [1024, 17], [129, 4096], [4096, 129]], ds: [40, 128], causal: both, bh: [2] },
      // attention logit growth: scores with std 8, 128, 1024 (rows reach about ±4σ), checked in full
      { sizes: [[17, 17], [160, 160], [129, 1024]], ds: [40, 64, 128], causal: both, bh: [2], scoreStd: SCORE_STDS },
    ],
    timing: null,
    sampleRows: 64,
  },
};

export function isPresetName(x: string): x is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(x);
}
