// lse_pair.cuh — how every kernel (naive and tiled) turns a score into a probability, and the lse it keeps for that.
//
// With large scores the softmax is nearly one-hot, and a textbook float32 attention gets the largest probability
// exactly: exp(s_max − m) = exp(0) = 1. A kernel that keeps only lse = fl(m + log l) loses |lse|·2^-24 of it (3e-5
// at |lse| = 500) in every probability of the row, and that error reaches O and, through D = rowsum(dO ∘ O) and
// dS = P (dP − D), the gradients. So stage 1 keeps lse as a double-float pair, hi + lo:
//   hi = fl(m + L) — the public lse, lo = (m + L) − hi exactly (TwoSum), L = log l,
// m the row max of fl(S_raw·scale) and l = Σ_j exp(S_raw_j·scale − m); stages 2 and 3 compute
//   P = exp((S_raw·scale − hi) − lo),
// where S_raw is the raw dot product q·k as the stage computes it (the same arithmetic in all three stages of a
// version) and S_raw·scale − ref is one fmaf (the product is never rounded on its own, in no stage), so near the
// max both differences are small and nearly exact. A row that sees no key has hi = −inf and lo = 0.
// The tensor-core kernels take exp as exp2 of (S_raw·scale − hi)·log2e − lo·log2e (two fmaf).
#pragma once
#include <cmath>
#include <cuda_runtime.h>

namespace attn {

// hi + lo = m + L exactly (TwoSum, round to nearest; nvcc does not reassociate these). m = −inf: (−inf, 0).
__device__ __forceinline__ void lse_pair(float m, float L, float &hi, float &lo) {
  if (m == -INFINITY) {
    hi = -INFINITY;
    lo = 0.f;
    return;
  }
  hi = __fadd_rn(m, L);
  const float mm = __fsub_rn(hi, L), LL = __fsub_rn(hi, mm);
  lo = __fadd_rn(__fsub_rn(m, mm), __fsub_rn(L, LL));
}

// exp(S_raw·scale − ref) (stage 1: ref = the running max; finite).
__device__ __forceinline__ float exp_score(float sRaw, float scale, float ref) { return expf(fmaf(sRaw, scale, -ref)); }

// P = exp((S_raw·scale − hi) − lo) (stages 2 and 3; hi finite).
__device__ __forceinline__ float exp_score(float sRaw, float scale, float hi, float lo) {
  return expf(__fsub_rn(fmaf(sRaw, scale, -hi), lo));
}

}  // namespace attn
