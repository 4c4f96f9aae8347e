/**
 * The accuracy rule (FlashAttention's tests; docs/algorithm.md "Accuracy"): for every output, a kernel passes when
 *
 *   max |kernel − exact|  ≤ 2 · max |textbook − exact|  + floor,             floor = 4 float32 ulps of the term scale
 *   ‖kernel − exact‖₂     ≤ 2 · ‖textbook − exact‖₂     + floor · √n          (n elements compared)
 *
 * where "exact" is the float64 reference, "textbook" the plain float32 attention of textbook.ts (each of its errors the
 * largest over four summation orders) and the term scale the largest sum of |terms| behind one element (textbook.ts):
 * however the terms cancel, no float32 evaluation avoids errors of a few ulps of it. The max error is FlashAttention's
 * comparison; at large scores it is set by one or two near-tied rows and is noisy, while the failure this rule exists
 * for is systematic (an lse, scale or log2e rounded once and shared by every P of a row) and shows in the bulk: the L2
 * comparison catches it where the max does not (a kernel folding scale·log2e into one float32 product has 5× the
 * textbook's L2 error on O at score std 1024, and a max error within 2× of it for some seeds). The CUDA emulator applies
 * the same rule (packages/kernels-cuda/kernels/tiled/emu/check.h). In a half dtype the floor is one ulp of the dtype
 * (FLOOR_ULPS).
 */
import type { OutputName } from './backend.js';
import type { Dtype } from './dtype.js';
import { ulpOf } from './dtype.js';

export const TEXTBOOK_FACTOR = 2;
/**
 * The floor in ulps of the storage dtype: 4 in float32; 1 in a half dtype, whose ulp (2⁻¹⁰, 2⁻⁷) is already the size
 * of a stored output's own rounding (FlashAttention's tests: the rounding of a value at the output's scale).
 */
export const FLOOR_ULPS: Readonly<Record<Dtype, number>> = { float32: 4, float16: 1, bfloat16: 1 };

/** The worst output of a check under the rule. */
export interface RuleResult {
  output: OutputName;
  /** the larger of maxAbs / (2 · textbookMaxAbs + floor) and l2 / (2 · textbookL2 + floor · √n); ≤ 1 passes */
  ratio: number;
  passed: boolean;
  /** which comparison gave the ratio */
  metric: 'max' | 'l2';
  maxAbs: number;
  textbookMaxAbs: number;
  l2: number;
  textbookL2: number;
  floor: number;
}

/** What the rule needs of one output. */
export interface RuleInput {
  /** max |kernel − exact|, null when no element was finite */
  maxAbs: number | null;
  /** max |textbook − exact| (the largest over the summation orders) */
  textbookMaxAbs: number | null;
  /** ‖kernel − exact‖₂ and ‖textbook − exact‖₂ over the n finite elements compared */
  l2: number | null;
  textbookL2: number | null;
  n: number;
  /** the largest sum of |terms| behind one element */
  termScale: number;
}

/** The spacing of float32 numbers at |x| (2⁻¹⁴⁹ below the normal range). */
export function ulp32(x: number): number {
  const a = Math.abs(x);
  if (!(a >= 2 ** -126)) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

export function ruleFloor(termScale: number, dtype: Dtype = 'float32'): number {
  return FLOOR_ULPS[dtype] * (dtype === 'float32' ? ulp32(termScale) : ulpOf(dtype, termScale));
}

/** The rule over the outputs given: the worst (largest ratio), or null when none has both errors. */
export function applyRule(outputs: Partial<Record<OutputName, RuleInput>>, dtype: Dtype = 'float32'): RuleResult | null {
  let worst: RuleResult | null = null;
  for (const [output, e] of Object.entries(outputs) as [OutputName, RuleInput][]) {
    if (e.maxAbs === null || e.textbookMaxAbs === null || e.l2 === null || e.textbookL2 === null) continue;
    // the lse stays float32 in every dtype
    const floor = ruleFloor(e.termScale, output === 'lse' ? 'float32' : dtype);
    const byMax = e.maxAbs / (TEXTBOOK_FACTOR * e.textbookMaxAbs + floor);
    const byL2 = e.l2 / (TEXTBOOK_FACTOR * e.textbookL2 + floor * Math.sqrt(e.n));
    const ratio = Math.max(byMax, byL2);
    if (!worst || ratio > worst.ratio) {
      worst = {
        output, ratio, passed: ratio <= 1, metric: byMax >= byL2 ? 'max' : 'l2',
        maxAbs: e.maxAbs, textbookMaxAbs: e.textbookMaxAbs, l2: e.l2, textbookL2: e.textbookL2, floor,
      };
    }
  }
  return worst;
}

/**
 * One line for a failed rule, e.g. "dq: max|error| 3.10e-4 > 2 × textbook float32 1.20e-5 + 4.8e-7", naming the
 * textbook's dtype (the problem's; float32 for the lse, which stays float32).
 */
export function describeRule(r: Pick<RuleResult, 'output' | 'metric' | 'maxAbs' | 'textbookMaxAbs' | 'l2' | 'textbookL2' | 'floor'>, dtype: Dtype = 'float32'): string {
  const textbook = `textbook ${r.output === 'lse' ? 'float32' : dtype}`;
  return r.metric === 'max'
    ? `${r.output}: max|error| ${r.maxAbs.toExponential(2)} > ${TEXTBOOK_FACTOR} × ${textbook} ${r.textbookMaxAbs.toExponential(2)} + ${r.floor.toExponential(1)}`
    : `${r.output}: L2 error ${r.l2.toExponential(2)} > ${TEXTBOOK_FACTOR} × ${textbook} ${r.textbookL2.toExponential(2)} + floor·√n`;
}
