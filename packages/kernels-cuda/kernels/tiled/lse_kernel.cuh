// tiled/lse_kernel.cuh — stage 1, version 1: lse_i = log sum_j exp(scale * q_i . k_j), SIMT fp32.
//
// Tiling: one block (256 threads) per (bh, BQ query rows); Q tile stays in shared memory, key tiles of BK rows
// stream through it. Each thread computes a TM x TN slice of the BQ x BK raw score tile in registers (Frag), then the
// TC lanes sharing a row reduce it: running (m, l) with m the max of fl(S_raw scale) and l += exp(S_raw scale - m)
// (one fmaf), l scaled by exp(m_old - m_new), i.e. the pairwise logaddexp applied tile by tile; the lse pair (hi, lo;
// lse_pair.cuh) at the end. Rows that see no key keep m = -inf and get (-inf, 0) exactly (every exp argument is
// made finite first, so no -inf - -inf). Causal: key tiles past the last key the tile's last row sees are never
// loaded. Dtypes: Q and K in storage type T (float, __half, __nv_bfloat16), widened to float as the tiles are loaded;
// everything after is float32. Limits: d <= D (bucket), any nq, nk >= 1.
#pragma once
#include "common.cuh"
#include "traits.cuh"

namespace attn_tiled {

template <int D, class T>
__global__ void __launch_bounds__(kThreads) lse_tiled_kernel1(AttnProblem p, const T *__restrict__ q,
                                                              const T *__restrict__ k, float *__restrict__ lse,
                                                              float *__restrict__ lse_lo) {
  using Tr = FwdTraits<D>;
  constexpr int BQ = Tr::BQ, BK = Tr::BK, LD = padded(D);
  using SF = Frag<BQ, BK>;
  extern __shared__ float smem[];
  float *sQ = smem;
  float *sK = sQ + BQ * LD;

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;  // heavy (late, causal) tiles first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;

  load_tile<BQ, D>(sQ, LD, q, q0, p.nq, p.d);
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));

  float m[SF::TM], l[SF::TM];
#pragma unroll
  for (int i = 0; i < SF::TM; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.f;
  }

  for (int k0 = 0; k0 < kEnd; k0 += BK) {
    __syncthreads();  // sQ written (first pass) / last tile's sK reads done
    load_tile<BK, D>(sK, LD, k, k0, p.nk, p.d);
    __syncthreads();
    float s[SF::TM][SF::TN];
    frag_zero<SF>(s);
    frag_mma_nk<SF, D>(s, sQ, LD, sK, LD);
#pragma unroll
    for (int i = 0; i < SF::TM; ++i) {
      const int qi = q0 + SF::row(i);
      float tmax = -INFINITY;
#pragma unroll
      for (int j = 0; j < SF::TN; ++j)
        if (visible(p, qi, k0 + SF::col(j))) tmax = fmaxf(tmax, __fmul_rn(s[i][j], p.scale));
      const float mNew = fmaxf(m[i], group_max<SF::TC>(tmax));
      const float mRef = mNew == -INFINITY ? 0.f : mNew;  // finite reference: exp(-inf - 0) = 0, never NaN
      float tsum = 0.f;
#pragma unroll
      for (int j = 0; j < SF::TN; ++j)
        if (visible(p, qi, k0 + SF::col(j))) tsum += exp_score(s[i][j], p.scale, mRef);
      l[i] = l[i] * expf(m[i] - mRef) + group_sum<SF::TC>(tsum);
      m[i] = mNew;
    }
  }

  if (threadIdx.x % SF::TC == 0) {
#pragma unroll
    for (int i = 0; i < SF::TM; ++i) {
      const int qi = q0 + SF::row(i);
      if (qi < p.nq) lse_pair(m[i], logf(l[i]), lse[(size_t)b * p.nq + qi], lse_lo[(size_t)b * p.nq + qi]);
    }
  }
}

}  // namespace attn_tiled
