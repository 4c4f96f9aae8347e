/**
 * Whether a problem fits a variant and a device, computed from numbers alone (no allocation, no device call), so it
 * can be tested anywhere. The backend feeds it the addon's limits and the device's memory.
 */
import type { Dtype, Problem, Variant } from '@attn/reference';
import { tensorSize } from '@attn/reference';

export interface CudaCapabilities {
  variants: readonly Variant[];
  /** largest d and dv per variant */
  maxD: Partial<Record<Variant, number>>;
  /** device memory in bytes, total; null when unknown (no device) */
  totalMemoryBytes: number | null;
  /** variant scratch in bytes for a problem (naive: the score matrix) */
  scratchBytes(problem: Problem, variant: Variant): number;
}

const INT32_MAX = 2 ** 31 - 1;
/** the tensors stored in the problem's dtype; lse (hi and lo) and delta are float32 in every dtype */
const DTYPE_TENSORS = ['q', 'k', 'v', 'dO', 'o', 'dq', 'dk', 'dv'] as const;

/** Bytes of one element stored in `dtype` on the device. */
export function elementBytes(dtype: Dtype): number {
  return dtype === 'float32' ? 4 : 2;
}

/**
 * Bytes of every tensor of a problem on the device: q, k, v, dO, o, dq, dk, dv in the problem's dtype (2 bytes an
 * element in float16 and bfloat16), and in float32 the lse, its low part (the kernels keep lse as a pair of floats:
 * kernels/lse_pair.cuh) and the delta pre-pass vector.
 */
export function tensorBytes(problem: Problem): number {
  let n = 0;
  for (const name of DTYPE_TENSORS) n += tensorSize(problem, name);
  return elementBytes(problem.dtype) * n + 4 * 3 * problem.bh * problem.nq;
}

export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

export function checkProblem(problem: Problem, variant: Variant, caps: CudaCapabilities): string | null {
  if (!caps.variants.includes(variant)) {
    return `cuda has no '${variant}' variant in this build (variants: ${caps.variants.join(', ')})`;
  }
  for (const key of ['bh', 'nq', 'nk', 'd', 'dv'] as const) {
    if (problem[key] > INT32_MAX) return `cuda kernels take ${key} < 2^31, got ${problem[key]}`;
  }
  const maxD = caps.maxD[variant] ?? 0;
  if (problem.d > maxD || problem.dv > maxD) {
    return `cuda ${variant} takes d, dv <= ${maxD}, got d=${problem.d} dv=${problem.dv}`;
  }
  if (caps.totalMemoryBytes !== null) {
    const scratch = caps.scratchBytes(problem, variant);
    const tensors = tensorBytes(problem);
    if (scratch + tensors > caps.totalMemoryBytes) {
      const need = variant === 'naive' ? `naive scores need ${gib(scratch)} (+${gib(tensors)} tensors)` : `tensors need ${gib(scratch + tensors)}`;
      return `${need}, device has ${gib(caps.totalMemoryBytes)} in all`;
    }
  }
  return null;
}
