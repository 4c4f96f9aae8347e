// tiled/exp2_score.cuh — the probabilities of the tensor-core kernels (tf32 and half alike) as exp2: one MUFU op
// per score, the lse pair's arithmetic of lse_pair.cuh in base 2.
#pragma once
#include <cmath>
#include <cuda_runtime.h>

namespace attn_tiled {

// 2^x with denormal results flushed to zero (ex2.approx.ftz: ~2 ulp, one MUFU op; plain exp2f adds a denormal fix-up
// of three instructions per call). A probability under 2^-126 changes no float32 sum it joins.
__device__ __forceinline__ float exp2_ftz(float x) {
#if defined(__CUDA_ARCH__)
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#else
  const float y = exp2f(x);
  return std::fpclassify(y) == FP_SUBNORMAL ? 0.f : y;
#endif
}

constexpr float kLog2e = 1.4426950408889634f;

// Stage 1's term exp(S_raw·scale − ref) = 2^((S_raw·scale − ref)·log2e), ref finite (lse_pair.cuh).
__device__ __forceinline__ float exp2_score(float sRaw, float scale, float ref) {
  return exp2_ftz(__fmul_rn(fmaf(sRaw, scale, -ref), kLog2e));
}

// Stages 2 and 3: P = exp((S_raw·scale − hi) − lo) = 2^((S_raw·scale − hi)·log2e − lo2), lo2 = lo·log2e (lse_pair.cuh).
// hi = +inf gives 0 (the backward's padded rows).
__device__ __forceinline__ float exp2_score(float sRaw, float scale, float hi, float lo2) {
  return exp2_ftz(fmaf(fmaf(sRaw, scale, -hi), kLog2e, -lo2));
}

}  // namespace attn_tiled
