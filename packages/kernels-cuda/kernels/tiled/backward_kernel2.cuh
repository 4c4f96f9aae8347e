// tiled/backward_kernel2.cuh — stage 3, version 2: the dK/dV and dQ passes of version 1 with every product on
// tensor cores (mma.sync m16n8k8, 3xTF32 in short chains: tiled/mma_tf32.cuh); exp and dS in fp32 SIMT.
// Deterministic as version 1 (one writer per output element, no atomics); delta from attn_backward_delta.
//
// dK/dV pass: one block of 4 warps per (bh, 64 key rows); warp w owns keys w*16 .. w*16+15. K, V stay in shared
//   memory; Q/dO tiles of BQ rows stream (causal: from the first query tile that sees k0). Per tile each warp:
//   Sᵀ = K Qᵀ (16 x BQ, C fragments) → Pᵀ = exp((Sᵀ scale - lse) - lse_lo) (lse_pair.cuh) to the warp's own rows
//   of shared memory (C → A layout, __syncwarp) →
//   dV += Pᵀ dO; then dPᵀ = V dOᵀ → dSᵀ = Pᵀ ∘ (dPᵀ - delta) likewise → dK += dSᵀ Q (dK, dV in registers).
// dQ pass: one block of 4 warps per (bh, 64 query rows); Q, dO, lse, delta stay; K/V tiles of BK rows stream
//   (causal: up to the last key the tile's last row sees). S = Q Kᵀ, dP = dO Vᵀ, dS to the warp's rows, dQ += dS K.
// Strides: everything read as an A fragment or as Bᵀ (n-major) at cols + 4 (conflict-free); Q, dO and K are also
// read as k-major B (dK, dV, dQ products), where cols + 4 costs a 2-way conflict — one layout, not two copies.
// Limits: D in {64, 128}; d, dv <= D.
#pragma once
#include "common.cuh"
#include "mma_tf32.cuh"

namespace attn_tiled {

template <int D> struct BwdKV2Traits {
  static constexpr int kWarps = 4, NT = 32 * kWarps, BK = 16 * kWarps, BQ = D == 64 ? 64 : 32;
  static constexpr int LD = D + 4, LDP = BQ + 4;
  static constexpr size_t floats = 2 * (size_t)BK * LD      // sK sV
                                   + 2 * (size_t)BQ * LD    // sQ sdO
                                   + 2 * (size_t)BK * LDP   // sP sdS (key-major)
                                   + 3 * (size_t)BQ;        // sL sLo sDelta
  static constexpr size_t bytes = floats * sizeof(float);
  static_assert(bytes <= 227 * 1024, "dK/dV v2 tile too large");
  static constexpr int kUnroll = D == 128 ? 1 : 2;  // D = 128: dK + dV take 128 registers; unroll 2 spilled
};

template <int D> struct BwdQ2Traits {
  static constexpr int kWarps = 4, NT = 32 * kWarps, BQ = 16 * kWarps, BK = 64;
  static constexpr int LD = D + 4, LDS = BK + 4;
  static constexpr size_t floats = 2 * (size_t)BQ * LD      // sQ sdO
                                   + 2 * (size_t)BK * LD    // sK sV
                                   + (size_t)BQ * LDS       // sdS
                                   + 3 * (size_t)BQ;        // sL sLo sDelta
  static constexpr size_t bytes = floats * sizeof(float);
  static_assert(bytes <= 227 * 1024, "dQ v2 tile too large");
};

// Writes a warp's 16 x D accumulator (rows row0 + w0 .., times mul) to g [nrows, gcols] (g at this bh's row 0).
template <int D>
__device__ __forceinline__ void warp_store(const float (&acc)[D / 8][4], float *__restrict__ g, int row0, int nrows,
                                           int gcols, float mul) {
  const int lane = threadIdx.x % 32, gg = lane / 4, t = lane % 4;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = row0 + gg + 8 * half;
    if (r >= nrows) continue;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = n * 8 + 2 * t + e;
        if (c < gcols) g[(size_t)r * gcols + c] = acc[n][2 * half + e] * mul;
      }
  }
}

template <int N>
__device__ __forceinline__ void warp_zero(float (&acc)[N / 8][4]) {
#pragma unroll
  for (int n = 0; n < N / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] = 0.f;
}

template <int D>
__global__ void __launch_bounds__(BwdKV2Traits<D>::NT)
    backward_dkdv_tiled_kernel2(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                                const float *__restrict__ v, const float *__restrict__ dO,
                                const float *__restrict__ lse, const float *__restrict__ lse_lo,
                                const float *__restrict__ delta, float *__restrict__ dk, float *__restrict__ dv) {
  using T = BwdKV2Traits<D>;
  constexpr int BK = T::BK, BQ = T::BQ, LD = T::LD, LDP = T::LDP, NT = T::NT;
  extern __shared__ float smem[];
  float *sK = smem;
  float *sV = sK + BK * LD;
  float *sQ = sV + BK * LD;
  float *sdO = sQ + BQ * LD;
  float *sP = sdO + BQ * LD;
  float *sdS = sP + BK * LDP;
  float *sL = sdS + BK * LDP;
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

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int w0 = warp * 16;
  load_tile<BK, D, NT>(sK, LD, k, k0, p.nk, p.d);
  load_tile<BK, D, NT>(sV, LD, v, k0, p.nk, p.dv);
  const int qBegin = query_begin(p, k0) / BQ * BQ;

  float accK[D / 8][4], accV[D / 8][4];
  warp_zero<D>(accK);
  warp_zero<D>(accV);

  for (int q0 = qBegin; q0 < p.nq; q0 += BQ) {
    __syncthreads();  // sK/sV written (first pass) / last tile's sQ, sdO, sP, sdS, sL, sDelta reads done
    load_tile<BQ, D, NT>(sQ, LD, q, q0, p.nq, p.d);
    load_tile<BQ, D, NT>(sdO, LD, dO, q0, p.nq, p.dv);
    load_rows<BQ, NT>(sL, lse, q0, p.nq, -INFINITY);
    load_rows<BQ, NT>(sLo, lse_lo, q0, p.nq, 0.f);
    load_rows<BQ, NT>(sDelta, delta, q0, p.nq, 0.f);
    __syncthreads();

    // Pᵀ first and dV += Pᵀ dO, then dPᵀ, dSᵀ and dK += dSᵀ Q: Sᵀ and dPᵀ are never live together (registers).
    {
      float s[BQ / 8][4];
      warp_scores<D, BQ, true>(s, sK, LD, sQ, LD, w0);  // Sᵀ: rows keys, columns queries (S's rounding)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int r = w0 + g + 8 * half;  // key (tile row)
#pragma unroll
        for (int j = 0; j < BQ / 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int c = j * 8 + 2 * t + e;  // query (tile column)
            const float L = sL[c];
            const bool on = visible(p, q0 + c, k0 + r) && L != -INFINITY;
            sP[r * LDP + c] = on ? exp_score(s[j][2 * half + e], p.scale, L, sLo[c]) : 0.f;
          }
      }
    }
    __syncwarp();  // sP rows w0 .. w0+15 are this warp's alone
    warp_acc_kn<BQ, D, T::kUnroll>(accV, sP, LDP, w0, sdO, LD);
    {
      float dp[BQ / 8][4];
      warp_scores<D, BQ, true>(dp, sV, LD, sdO, LD, w0);  // dPᵀ
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int r = w0 + g + 8 * half;
#pragma unroll
        for (int j = 0; j < BQ / 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int c = j * 8 + 2 * t + e;
            sdS[r * LDP + c] = sP[r * LDP + c] * (dp[j][2 * half + e] - sDelta[c]);  // this lane wrote sP here
          }
      }
    }
    __syncwarp();  // sdS rows are this warp's alone; the next __syncthreads orders sP/sdS reuse
    warp_acc_kn<BQ, D, T::kUnroll>(accK, sdS, LDP, w0, sQ, LD);
  }
  warp_store<D>(accV, dv, k0 + w0, p.nk, p.dv, 1.f);
  warp_store<D>(accK, dk, k0 + w0, p.nk, p.d, p.scale);
}

template <int D>
__global__ void __launch_bounds__(BwdQ2Traits<D>::NT)
    backward_dq_tiled_kernel2(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                              const float *__restrict__ v, const float *__restrict__ dO,
                              const float *__restrict__ lse, const float *__restrict__ lse_lo,
                              const float *__restrict__ delta, float *__restrict__ dq) {
  using T = BwdQ2Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BK, LD = T::LD, LDS = T::LDS, NT = T::NT;
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

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int w0 = warp * 16;
  load_tile<BQ, D, NT>(sQ, LD, q, q0, p.nq, p.d);
  load_tile<BQ, D, NT>(sdO, LD, dO, q0, p.nq, p.dv);
  load_rows<BQ, NT>(sL, lse, q0, p.nq, -INFINITY);
  load_rows<BQ, NT>(sLo, lse_lo, q0, p.nq, 0.f);
  load_rows<BQ, NT>(sDelta, delta, q0, p.nq, 0.f);
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));

  float acc[D / 8][4];
  warp_zero<D>(acc);

  for (int k0 = 0; k0 < kEnd; k0 += BK) {
    __syncthreads();  // sQ/sdO/sL/sDelta written (first pass) / last tile's sK, sV, sdS reads done
    load_tile<BK, D, NT>(sK, LD, k, k0, p.nk, p.d);
    load_tile<BK, D, NT>(sV, LD, v, k0, p.nk, p.dv);
    __syncthreads();

    float s[BK / 8][4], dp[BK / 8][4];
    warp_scores<D, BK>(s, sQ, LD, sK, LD, w0);
    warp_scores<D, BK>(dp, sdO, LD, sV, LD, w0);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = w0 + g + 8 * half;  // query (tile row)
      const float L = sL[r], Lo = sLo[r], dlt = sDelta[r];
#pragma unroll
      for (int j = 0; j < BK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = j * 8 + 2 * t + e;  // key
          const bool on = visible(p, q0 + r, k0 + c) && L != -INFINITY;
          const float pr = on ? exp_score(s[j][2 * half + e], p.scale, L, Lo) : 0.f;
          sdS[r * LDS + c] = pr * (dp[j][2 * half + e] - dlt);
        }
    }
    __syncwarp();  // sdS rows w0 .. w0+15 are this warp's alone; the next __syncthreads orders their reuse
    warp_acc_kn<BK, D>(acc, sdS, LDS, w0, sK, LD);
  }
  warp_store<D>(acc, dq, q0 + w0, p.nq, p.d, p.scale);
}

}  // namespace attn_tiled
