// tiled/forward_kernel.cuh — stage 2, version 1: O_i = sum_j exp(scale * q_i . k_j - lse_i) v_j, SIMT fp32.
//
// Tiling: one block (256 threads) per (bh, BQ query rows). Q tile and the rows' lse pair stay in shared memory; K and
// V tiles of BK rows stream through it. Per key tile each thread computes a TM x TN slice of S_raw = Q Kᵀ in
// registers, turns it into P = exp((S_raw scale - lse) - lse_lo) (lse_pair.cuh; 0 where masked or where the row's
// lse is -inf), parks P in shared memory, and after
// a barrier accumulates its own slice of O += P V (another Frag over BQ x D) in registers. No running max: the lse
// is known. Rows that see no key end with O = 0. Dtypes: Q, K, V and O in storage type T (float, __half,
// __nv_bfloat16): the tiles widened to float as they are loaded, P and O float32 on chip, O rounded once when stored.
// Limits: d, dv <= D (bucket), any nq, nk >= 1.
#pragma once
#include "common.cuh"
#include "traits.cuh"

namespace attn_tiled {

template <int D, class T>
__global__ void __launch_bounds__(kThreads)
    forward_tiled_kernel1(AttnProblem p, const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v,
                          const float *__restrict__ lse, const float *__restrict__ lse_lo, T *__restrict__ o) {
  using Tr = FwdTraits<D>;
  constexpr int BQ = Tr::BQ, BK = Tr::BK, LD = padded(D), LDP = padded(BK);
  using SF = Frag<BQ, BK>;
  using OF = Frag<BQ, D>;
  extern __shared__ float smem[];
  float *sQ = smem;
  float *sK = sQ + BQ * LD;
  float *sV = sK + BK * LD;
  float *sP = sV + BK * LD;
  float *sL = sP + BQ * LDP;
  float *sLo = sL + BQ;

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;
  v += (size_t)b * p.nk * p.dv;
  lse += (size_t)b * p.nq;
  lse_lo += (size_t)b * p.nq;
  o += (size_t)b * p.nq * p.dv;

  load_tile<BQ, D>(sQ, LD, q, q0, p.nq, p.d);
  load_rows<BQ>(sL, lse, q0, p.nq, -INFINITY);
  load_rows<BQ>(sLo, lse_lo, q0, p.nq, 0.f);
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));

  float acc[OF::TM][OF::TN];
  frag_zero<OF>(acc);

  for (int k0 = 0; k0 < kEnd; k0 += BK) {
    __syncthreads();  // sQ/sL written (first pass) / last tile's sK, sV, sP reads done
    load_tile<BK, D>(sK, LD, k, k0, p.nk, p.d);
    load_tile<BK, D>(sV, LD, v, k0, p.nk, p.dv);
    __syncthreads();
    float s[SF::TM][SF::TN];
    frag_zero<SF>(s);
    frag_mma_nk<SF, D>(s, sQ, LD, sK, LD);
#pragma unroll
    for (int i = 0; i < SF::TM; ++i) {
      const int r = SF::row(i);
      const float L = sL[r], Lo = sLo[r];
#pragma unroll
      for (int j = 0; j < SF::TN; ++j) {
        const int c = SF::col(j);
        const bool on = visible(p, q0 + r, k0 + c) && L != -INFINITY;
        sP[r * LDP + c] = on ? exp_score(s[i][j], p.scale, L, Lo) : 0.f;
      }
    }
    __syncthreads();
    frag_mma_kn<OF, BK>(acc, sP, LDP, sV, LD);
  }
  frag_store<OF>(acc, o, q0, p.nq, p.dv, 1.f);
}

}  // namespace attn_tiled
