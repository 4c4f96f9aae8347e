// tiled/backward_kernel.cuh — stage 3, version 1, SIMT fp32: the dK/dV pass over key tiles and the dQ pass over
// query tiles (deterministic: each output element has exactly one writer, no atomics). Both recompute
// P = exp((scale * Q Kᵀ - lse) - lse_lo) per tile (lse_pair.cuh; 0 where masked or where the row's lse is -inf) and
// dS = P ∘ (dO Vᵀ - delta);
// delta comes from attn_backward_delta, run first by the launcher.
//
// dK/dV pass: one block (256 threads) per (bh, BK key rows). K and V tiles stay in shared memory; Q/dO tiles of BQ
//   rows stream through (causal: starting at the first query tile that sees k0). Each thread computes TM x TN slices
//   of Sᵀ = K Qᵀ and dPᵀ = V dOᵀ (BK x BQ, key-major), writes Pᵀ and dSᵀ to shared memory, then after a barrier
//   accumulates its slices of dV += Pᵀ dO and dK += dSᵀ Q (BK x D each) in registers. dK is scaled once at the end.
// dQ pass: one block per (bh, BQ query rows). Q, dO, lse, delta stay in shared memory; K/V tiles stream through
//   (causal: up to the last key the tile's last row sees). S = Q Kᵀ and dP = dO Vᵀ per thread slice, dS to shared
//   memory, then dQ += dS K in registers; scaled at the end. Rows that see no key end with dQ = 0.
// Dtypes: Q, K, V, dO and dQ, dK, dV in storage type T (float, __half, __nv_bfloat16): the tiles widened to float as
// they are loaded, P, dS and the sums float32 on chip, each gradient rounded once when stored.
// Limits: d, dv <= D (bucket), any nq, nk >= 1.
#pragma once
#include "common.cuh"
#include "traits.cuh"

namespace attn_tiled {

template <int D, class T>
__global__ void __launch_bounds__(kThreads)
    backward_dkdv_tiled_kernel1(AttnProblem p, const T *__restrict__ q, const T *__restrict__ k,
                                const T *__restrict__ v, const T *__restrict__ dO, const float *__restrict__ lse,
                                const float *__restrict__ lse_lo, const float *__restrict__ delta,
                                T *__restrict__ dk, T *__restrict__ dv) {
  using Tr = BwdKVTraits<D>;
  constexpr int BK = Tr::BK, BQ = Tr::BQ, LD = padded(D), LDS = padded(BQ);
  using SF = Frag<BK, BQ>;  // rows: keys, columns: queries
  using AF = Frag<BK, D>;
  extern __shared__ float smem[];
  float *sK = smem;
  float *sV = sK + BK * LD;
  float *sQ = sV + BK * LD;
  float *sdO = sQ + BQ * LD;
  float *sP = sdO + BQ * LD;
  float *sdS = sP + BK * LDS;
  float *sL = sdS + BK * LDS;
  float *sLo = sL + BQ;
  float *sDelta = sLo + BQ;

  const int b = blockIdx.x % p.bh;
  const int k0 = (int)(blockIdx.x / p.bh) * BK;  // causal: early key tiles have the most queries, go first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;
  v += (size_t)b * p.nk * p.dv;
  dO += (size_t)b * p.nq * p.dv;
  lse += (size_t)b * p.nq;
  lse_lo += (size_t)b * p.nq;
  delta += (size_t)b * p.nq;
  dk += (size_t)b * p.nk * p.d;
  dv += (size_t)b * p.nk * p.dv;

  load_tile<BK, D>(sK, LD, k, k0, p.nk, p.d);
  load_tile<BK, D>(sV, LD, v, k0, p.nk, p.dv);
  const int qBegin = query_begin(p, k0) / BQ * BQ;

  float accK[AF::TM][AF::TN], accV[AF::TM][AF::TN];
  frag_zero<AF>(accK);
  frag_zero<AF>(accV);

  for (int q0 = qBegin; q0 < p.nq; q0 += BQ) {
    __syncthreads();  // sK/sV written (first pass) / last tile's sQ, sdO, sP, sdS, sL, sDelta reads done
    load_tile<BQ, D>(sQ, LD, q, q0, p.nq, p.d);
    load_tile<BQ, D>(sdO, LD, dO, q0, p.nq, p.dv);
    load_rows<BQ>(sL, lse, q0, p.nq, -INFINITY);
    load_rows<BQ>(sLo, lse_lo, q0, p.nq, 0.f);
    load_rows<BQ>(sDelta, delta, q0, p.nq, 0.f);
    __syncthreads();
    float s[SF::TM][SF::TN], dp[SF::TM][SF::TN];
    frag_zero<SF>(s);
    frag_zero<SF>(dp);
    frag_mma_nk<SF, D>(s, sK, LD, sQ, LD);
    frag_mma_nk<SF, D>(dp, sV, LD, sdO, LD);
#pragma unroll
    for (int i = 0; i < SF::TM; ++i) {
      const int r = SF::row(i);  // key
#pragma unroll
      for (int j = 0; j < SF::TN; ++j) {
        const int c = SF::col(j);  // query
        const float L = sL[c];
        const bool on = visible(p, q0 + c, k0 + r) && L != -INFINITY;
        const float pr = on ? exp_score(s[i][j], p.scale, L, sLo[c]) : 0.f;
        sP[r * LDS + c] = pr;
        sdS[r * LDS + c] = pr * (dp[i][j] - sDelta[c]);
      }
    }
    __syncthreads();
    frag_mma_kn<AF, BQ>(accV, sP, LDS, sdO, LD);
    frag_mma_kn<AF, BQ>(accK, sdS, LDS, sQ, LD);
  }
  frag_store<AF>(accV, dv, k0, p.nk, p.dv, 1.f);
  frag_store<AF>(accK, dk, k0, p.nk, p.d, p.scale);
}

template <int D, class T>
__global__ void __launch_bounds__(kThreads)
    backward_dq_tiled_kernel1(AttnProblem p, const T *__restrict__ q, const T *__restrict__ k,
                              const T *__restrict__ v, const T *__restrict__ dO, const float *__restrict__ lse,
                              const float *__restrict__ lse_lo, const float *__restrict__ delta,
                              T *__restrict__ dq) {
  using Tr = BwdQTraits<D>;
  constexpr int BQ = Tr::BQ, BK = Tr::BK, LD = padded(D), LDS = padded(BK);
  using SF = Frag<BQ, BK>;
  using QF = Frag<BQ, D>;
  extern __shared__ float smem[];
  float *sQ = smem;
  float *sdO = sQ + BQ * LD;
  float *sK = sdO + BQ * LD;
  float *sV = sK + BK * LD;
  float *sdS = sV + BK * LD;
  float *sL = sdS + BQ * LDS;
  float *sLo = sL + BQ;
  float *sDelta = sLo + BQ;

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;
  v += (size_t)b * p.nk * p.dv;
  dO += (size_t)b * p.nq * p.dv;
  lse += (size_t)b * p.nq;
  lse_lo += (size_t)b * p.nq;
  delta += (size_t)b * p.nq;
  dq += (size_t)b * p.nq * p.d;

  load_tile<BQ, D>(sQ, LD, q, q0, p.nq, p.d);
  load_tile<BQ, D>(sdO, LD, dO, q0, p.nq, p.dv);
  load_rows<BQ>(sL, lse, q0, p.nq, -INFINITY);
  load_rows<BQ>(sLo, lse_lo, q0, p.nq, 0.f);
  load_rows<BQ>(sDelta, delta, q0, p.nq, 0.f);
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));

  float acc[QF::TM][QF::TN];
  frag_zero<QF>(acc);

  for (int k0 = 0; k0 < kEnd; k0 += BK) {
    __syncthreads();  // sQ/sdO/sL/sDelta written (first pass) / last tile's sK, sV, sdS reads done
    load_tile<BK, D>(sK, LD, k, k0, p.nk, p.d);
    load_tile<BK, D>(sV, LD, v, k0, p.nk, p.dv);
    __syncthreads();
    float s[SF::TM][SF::TN], dp[SF::TM][SF::TN];
    frag_zero<SF>(s);
    frag_zero<SF>(dp);
    frag_mma_nk<SF, D>(s, sQ, LD, sK, LD);
    frag_mma_nk<SF, D>(dp, sdO, LD, sV, LD);
#pragma unroll
    for (int i = 0; i < SF::TM; ++i) {
      const int r = SF::row(i);  // query
      const float L = sL[r], Lo = sLo[r], dlt = sDelta[r];
#pragma unroll
      for (int j = 0; j < SF::TN; ++j) {
        const int c = SF::col(j);  // key
        const bool on = visible(p, q0 + r, k0 + c) && L != -INFINITY;
        const float pr = on ? exp_score(s[i][j], p.scale, L, Lo) : 0.f;
        sdS[r * LDS + c] = pr * (dp[i][j] - dlt);
      }
    }
    __syncthreads();
    frag_mma_kn<QF, BK>(acc, sdS, LDS, sK, LD);
  }
  frag_store<QF>(acc, dq, q0, p.nq, p.d, p.scale);
}

}  // namespace attn_tiled
