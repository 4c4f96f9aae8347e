/**
 * The accuracy rule (FlashAttention's tests; docs/algorithm.md "Accuracy"): for every output, a kernel passes when
 *
 *   max |kernel − exact| ≤ 2 · max |textbook − exact| + floor        and
 *   ‖kernel − exact‖ / ‖exact‖ ≤ 2 · ‖textbook − exact‖ / ‖exact‖ + relative floor
 *
 * where "textbook" is the same-precision attention of textbook.ts and "exact" the float64 reference. FlashAttention
 * compares max errors; the relative L2 error is compared too because the failure this rule exists for is systematic
 * (a common error of every P in a row: an lse, scale or log2e rounded once and shared) and shows in the bulk before the
 * worst element: at score std 128 a kernel folding scale·log2e into one float32 product has 5.7× the textbook's
 * relative L2 error on O but 1.4× its max error. The floors are a few float32 ulps (of the output's scale for the max
 * error), so an output the textbook gets exactly right (N = 1: O = V) still leaves room for a kernel's rounding.
 * Gradients share one scale, the largest of dQ, dK, dV: a gradient that cancels to exactly zero (dK when one query
 * sees one key: dS = P·(dP − D) with D = dP) still carries rounding of its terms' size.
 */
import type { OutputName } from './backend.js';

/** The worst output of a check under the rule. */
export interface RuleResult {
  output: OutputName;
  /** the larger of the two ratios below; ≤ 1 passes */
  ratio: number;
  passed: boolean;
  /** which comparison gave the ratio */
  metric: 'maxAbs' | 'relL2';
  maxAbs: number;
  textbookMaxAbs: number;
  /** floor of the max-error comparison */
  floor: number;
  relL2: number;
  textbookRelL2: number;
}

/** What the rule needs of one output: the kernel's and the textbook's max |x − exact| and relative L2, max |exact|. */
export interface RuleInput {
  maxAbs: number | null;
  textbookMaxAbs: number | null;
  relL2: number | null;
  textbookRelL2: number | null;
  refMaxAbs: number;
}

/** Four float32 ulps (2⁻²³ each) of the output scale (at least 1e-3). */
export function ruleFloor(scale: number): number {
  return 4 * 2 ** -23 * Math.max(scale, 1e-3);
}

/** Four float32 ulps, relative: the floor of the relative-L2 comparison. */
export const REL_L2_FLOOR = 4 * 2 ** -23;

const GRADIENTS: readonly OutputName[] = ['dq', 'dk', 'dv'];

/**
 * The rule over the outputs given, or null when none has both errors (non-finite or unwritten outputs fail
 * elsewhere). Returns the worst output (largest ratio).
 */
export function applyRule(outputs: Partial<Record<OutputName, RuleInput>>): RuleResult | null {
  const entries = Object.entries(outputs) as [OutputName, RuleInput][];
  const gradientScale = Math.max(0, ...entries.filter(([n]) => GRADIENTS.includes(n)).map(([, e]) => e.refMaxAbs));
  let worst: RuleResult | null = null;
  for (const [output, e] of entries) {
    if (e.maxAbs === null || e.textbookMaxAbs === null || e.relL2 === null || e.textbookRelL2 === null) continue;
    const floor = ruleFloor(GRADIENTS.includes(output) ? gradientScale : e.refMaxAbs);
    const byMax = e.maxAbs / (2 * e.textbookMaxAbs + floor);
    const byL2 = e.relL2 / (2 * e.textbookRelL2 + REL_L2_FLOOR);
    const ratio = Math.max(byMax, byL2);
    if (!worst || ratio > worst.ratio) {
      worst = {
        output, ratio, passed: ratio <= 1, metric: byMax >= byL2 ? 'maxAbs' : 'relL2',
        maxAbs: e.maxAbs, textbookMaxAbs: e.textbookMaxAbs, floor, relL2: e.relL2, textbookRelL2: e.textbookRelL2,
      };
    }
  }
  return worst;
}

/** One line for a failed rule, e.g. "dq: rel L2 3.10e-4 > 2 × textbook float32 1.20e-5 + 4.8e-7". */
export function describeRule(r: RuleResult): string {
  return r.metric === 'maxAbs'
    ? `${r.output}: max|error| ${r.maxAbs.toExponential(2)} > 2 × textbook float32 ${r.textbookMaxAbs.toExponential(2)} + ${r.floor.toExponential(1)}`
    : `${r.output}: rel L2 ${r.relL2.toExponential(2)} > 2 × textbook float32 ${r.textbookRelL2.toExponential(2)} + ${REL_L2_FLOOR.toExponential(1)}`;
}
