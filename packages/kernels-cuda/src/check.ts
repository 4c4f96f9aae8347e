/**
 * Whether a problem fits a variant and a device, computed from numbers alone (no allocation, no device call), so it
 * can be tested anywhere. The backend feeds it the addon's limits and the device's memory.
 */
import type { Problem, Variant } from '@attn/reference';
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
const TENSORS = ['q', 'k', 'v', 'dO', 'lse', 'o', 'dq', 'dk', 'dv'] as const;

/**
 * Bytes of every tensor of a problem on the device (float32), plus the delta pre-pass vector and lse's low part (the
 * kernels keep lse as a pair of floats: kernels/lse_pair.cuh).
 */
export function tensorBytes(problem: Problem): number {
  let n = 2 * problem.bh * problem.nq; // delta, lse's low part
  for (const name of TENSORS) n += tensorSize(problem, name);
  return 4 * n;
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
