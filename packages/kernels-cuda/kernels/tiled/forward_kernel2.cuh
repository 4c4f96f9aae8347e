// tiled/forward_kernel2.cuh — stage 2, version 2: O = exp(S - lse) V on tensor cores, 3xTF32 (float32-level).
//
// Tiling: one block of 4 warps per (bh, 64 query rows); warp w owns query rows w*16 .. w*16+15 of the tile. Q tile
// and lse in shared memory; K/V tiles of BK rows stream through (plain loads, one barrier pair per tile).
// Per key tile each warp: S (16 x BK) = Q_w Kᵀ with mma.sync m16n8k8 in three TF32 products per 8x8 step (C fragments
// in registers), P = exp((S·scale - lse) - lse_lo) (lse_pair.cuh; 0 where masked or lse = -inf) written to the
// warp's own 16 rows of sP,
// __syncwarp, then O_w (16 x D, registers) += P V the same way. Strides: Q, K, P at cols+4 (A / Bᵀ fragment loads
// hit 32 distinct banks), V at cols+8 (B fragment loads along n). Limits: D in {64, 128}; d, dv <= D.
#pragma once
#include "common.cuh"
#include "mma_tf32.cuh"

namespace attn_tiled {

template <int D> struct Fwd2Traits {
  static constexpr int kWarps = 4, NT = 32 * kWarps, BQ = 16 * kWarps, BK = 64;
  static constexpr int LDQ = D + 4, LDK = D + 4, LDV = D + 8, LDP = BK + 4;
  static constexpr size_t floats =
      (size_t)BQ * LDQ + (size_t)BK * LDK + (size_t)BK * LDV + (size_t)BQ * LDP + 2 * BQ;  // sQ sK sV sP sL sLo
  static constexpr size_t bytes = floats * sizeof(float);
  static_assert(bytes <= 227 * 1024, "forward v2 tile too large");
};

template <int D>
__global__ void __launch_bounds__(Fwd2Traits<D>::NT)
    forward_tiled_kernel2(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                          const float *__restrict__ v, const float *__restrict__ lse,
                          const float *__restrict__ lse_lo, float *__restrict__ o) {
  using T = Fwd2Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT;
  extern __shared__ float smem[];
  float *sQ = smem;
  float *sK = sQ + BQ * T::LDQ;
  float *sV = sK + BK * T::LDK;
  float *sP = sV + BK * T::LDV;
  float *sL = sP + BQ * T::LDP;
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

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int w0 = warp * 16;  // first tile row of this warp
  load_tile<BQ, D, NT>(sQ, T::LDQ, q, q0, p.nq, p.d);
  load_rows<BQ, NT>(sL, lse, q0, p.nq, -INFINITY);
  load_rows<BQ, NT>(sLo, lse_lo, q0, p.nq, 0.f);
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));

  float acc[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] = 0.f;

  for (int k0 = 0; k0 < kEnd; k0 += BK) {
    __syncthreads();  // sQ/sL written (first pass) / last tile's sK, sV reads done
    load_tile<BK, D, NT>(sK, T::LDK, k, k0, p.nk, p.d);
    load_tile<BK, D, NT>(sV, T::LDV, v, k0, p.nk, p.dv);
    __syncthreads();

    float s[BK / 8][4];
    warp_scores<D, BK>(s, sQ, T::LDQ, sK, T::LDK, w0);

#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = w0 + g + 8 * half;  // tile row of c[2*half], c[2*half+1]
      const float L = sL[r], Lo = sLo[r];
#pragma unroll
      for (int j = 0; j < BK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = j * 8 + 2 * t + e;
          const bool on = visible(p, q0 + r, k0 + c) && L != -INFINITY;
          sP[r * T::LDP + c] = on ? exp_score(s[j][2 * half + e], p.scale, L, Lo) : 0.f;
        }
    }
    __syncwarp();  // sP rows w0 .. w0+15 are this warp's alone

    warp_acc_kn<BK, D>(acc, sP, T::LDP, w0, sV, T::LDV);
    __syncwarp();  // this warp's sP reads done before its next tile's writes
  }

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = q0 + w0 + g + 8 * half;
    if (r >= p.nq) continue;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = n * 8 + 2 * t + e;
        if (c < p.dv) o[(size_t)r * p.dv + c] = acc[n][2 * half + e];
      }
  }
}

}  // namespace attn_tiled
