// tiled/lse_kernel2.cuh — stage 1, version 2: lse_i = log sum_j exp(scale * q_i . k_j) with the scores on tensor
// cores (mma.sync m16n8k8, 3xTF32 in short chains: tiled/mma_tf32.cuh), the reductions in fp32 SIMT.
//
// Tiling as forward v2: one block of 4 warps per (bh, 64 query rows), warp w owns rows w*16 .. w*16+15; Q tile in
// shared memory, key tiles of BK rows stream through. A row of a warp's C fragments lives in the 4 consecutive
// lanes with the same g = lane / 4 (2 columns per 8-column block each), so the running (max, sum) of v1 becomes a
// 4-lane butterfly: same safe logaddexp and the same lse pair (m = max of fl(S_raw scale), l += exp(S_raw scale - m)
// as one fmaf; lse_pair.cuh; every exp argument finite; rows that see no key get (-inf, 0) exactly).
// Limits: D in {64, 128}; d <= D.
#pragma once
#include "common.cuh"
#include "mma_tf32.cuh"

namespace attn_tiled {

template <int D> struct Lse2Traits {
  static constexpr int kWarps = 4, NT = 32 * kWarps, BQ = 16 * kWarps, BK = 64;
  static constexpr int LDQ = D + 4, LDK = D + 4;
  static constexpr size_t floats = (size_t)BQ * LDQ + (size_t)BK * LDK;  // sQ sK
  static constexpr size_t bytes = floats * sizeof(float);
  static_assert(bytes <= 227 * 1024, "lse v2 tile too large");
};

template <int D>
__global__ void __launch_bounds__(Lse2Traits<D>::NT)
    lse_tiled_kernel2(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                      float *__restrict__ lse, float *__restrict__ lse_lo) {
  using T = Lse2Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT;
  extern __shared__ float smem[];
  float *sQ = smem;
  float *sK = sQ + BQ * T::LDQ;

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;  // heavy (late, causal) tiles first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int w0 = warp * 16;
  load_tile<BQ, D, NT>(sQ, T::LDQ, q, q0, p.nq, p.d);
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));

  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // rows w0 + g and w0 + g + 8
  for (int k0 = 0; k0 < kEnd; k0 += BK) {
    __syncthreads();  // sQ written (first pass) / last tile's sK reads done
    load_tile<BK, D, NT>(sK, T::LDK, k, k0, p.nk, p.d);
    __syncthreads();

    float s[BK / 8][4];
    warp_scores<D, BK>(s, sQ, T::LDQ, sK, T::LDK, w0);

#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int qi = q0 + w0 + g + 8 * half;
      float tmax = -INFINITY;
#pragma unroll
      for (int j = 0; j < BK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e)
          if (visible(p, qi, k0 + j * 8 + 2 * t + e)) tmax = fmaxf(tmax, __fmul_rn(s[j][2 * half + e], p.scale));
      const float mNew = fmaxf(m[half], group_max<4>(tmax));
      const float mRef = mNew == -INFINITY ? 0.f : mNew;  // finite reference: exp(-inf - 0) = 0, never NaN
      float tsum = 0.f;
#pragma unroll
      for (int j = 0; j < BK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e)
          if (visible(p, qi, k0 + j * 8 + 2 * t + e)) tsum += exp_score(s[j][2 * half + e], p.scale, mRef);
      l[half] = l[half] * expf(m[half] - mRef) + group_sum<4>(tsum);
      m[half] = mNew;
    }
  }

  if (t == 0) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int qi = q0 + w0 + g + 8 * half;
      if (qi < p.nq) lse_pair(m[half], logf(l[half]), lse[(size_t)b * p.nq + qi], lse_lo[(size_t)b * p.nq + qi]);
    }
  }
}

}  // namespace attn_tiled
