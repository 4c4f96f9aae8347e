// tiled/forward_kernel3.cuh — stage 2, version 3: O = exp(S - lse) V on tensor cores, 3xTF32 (float32-level), with
// K/V split into TF32 (hi, lo) once per block and cp.async double buffering. Buckets D = 64 and 128 only.
//
// One block of 8 warps per (bh, BQ query rows). Warps form WR row groups of 16 query rows x WC column groups:
//   D = 64:  WR = 8, WC = 1 (128 query rows; each warp: S 16 x BK, O 16 x 64).
//   D = 128: WR = 4, WC = 2 (64 query rows; the two warps of a row group split S by keys and O by columns, so
//            each holds O 16 x 64 — half of v2's accumulators).
// Per key tile of BK rows: wait for this tile's cp.async copies (dense fp32 staging), barrier, split the staging
// into (hi, lo) pairs (sK2, sV2; every element converted once per block instead of once per warp), barrier, start
// the copies of the next tile into the staging (they overlap this tile's mma work), then S = Q Kᵀ, P = exp((S·scale
// - lse) - lse_lo) (lse_pair.cuh; 0 where masked or lse = -inf) into sP, barrier (WC = 2: the partner warp reads
// these P columns; WC = 1:
// the warp's own rows, __syncwarp), O += P V. Q and P stay fp32 in shared memory and are split on fragment load
// (each A fragment serves 4–8 B fragments). Short mma chains as in v2 (mma_3xtf32).
#pragma once
#include "common.cuh"
#include "cp_async.cuh"
#include "mma_tf32_split.cuh"

namespace attn_tiled {

template <int D> struct Fwd3Shape;
template <> struct Fwd3Shape<64> { static constexpr int WR = 8, WC = 1, BK = 32, kMinBlocks = 2, UNROLL = 1; };
template <> struct Fwd3Shape<128> { static constexpr int WR = 4, WC = 2, BK = 32, kMinBlocks = 1, UNROLL = 2; };

template <int D> struct Fwd3Traits {
  using S = Fwd3Shape<D>;
  static constexpr int WR = S::WR, WC = S::WC, BK = S::BK, kMinBlocks = S::kMinBlocks, UNROLL = S::UNROLL;
  static constexpr int kWarps = WR * WC, NT = 32 * kWarps, BQ = 16 * WR;
  static constexpr int KW = BK / WC, DW = D / WC;  // score columns and output columns per warp
  static constexpr int LDQ = D + 4, LD2 = D + 4, LDP = BK + 4;
  // bytes, in carve order: sK2, sV2 (uint2 pairs, first for 8-byte alignment), staging K, V, sQ, sP, sL, sLo
  static constexpr size_t pairBytes = (size_t)BK * LD2 * sizeof(uint2);
  static constexpr size_t stageBytes = (size_t)BK * D * sizeof(float);
  static constexpr size_t bytes = 2 * pairBytes + 2 * stageBytes +
                                  ((size_t)BQ * LDQ + (size_t)BQ * LDP + 2 * BQ) * sizeof(float);
  static_assert(bytes <= 227 * 1024, "forward v3 tile too large");
  static_assert(kMinBlocks * (bytes + 1024) <= 228 * 1024, "forward v3: kMinBlocks blocks do not fit one SM");
  static_assert(KW % 8 == 0 && DW % 8 == 0 && NT <= 256, "forward v3 warp tiling");
};

// VEC: 16-byte cp.async copies (d % 4 == 0, dv % 4 == 0, k and v 16-byte aligned: fwd3_vec); else 4-byte ones.
// A template parameter, not a runtime branch: both copy loops in one kernel cost the D = 64 kernel a spill.
template <int D, bool VEC>
__global__ void __launch_bounds__(Fwd3Traits<D>::NT, Fwd3Traits<D>::kMinBlocks)
    forward_tiled_kernel3(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                          const float *__restrict__ v, const float *__restrict__ lse,
                          const float *__restrict__ lse_lo, float *__restrict__ o) {
  using T = Fwd3Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT, KW = T::KW, DW = T::DW;
  extern __shared__ float smem[];  // dynamic shared memory: 16-byte aligned at least
  uint2 *sK2 = reinterpret_cast<uint2 *>(smem);
  uint2 *sV2 = sK2 + BK * T::LD2;
  float *stK = reinterpret_cast<float *>(sV2 + BK * T::LD2);
  float *stV = stK + BK * D;
  float *sQ = stV + BK * D;
  float *sP = sQ + BQ * T::LDQ;
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
  const int w0 = (warp % T::WR) * 16;  // first tile row of this warp
  const int wc = warp / T::WR;         // column group: keys wc*KW.., output columns wc*DW..
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));
  const int nK = ceil_div(kEnd, BK);

  if (nK > 0) {
    load_tile_async<BK, D, NT>(stK, k, 0, p.nk, p.d, VEC);
    load_tile_async<BK, D, NT>(stV, v, 0, p.nk, p.dv, VEC);
    cp_async_commit();
  }
  load_tile<BQ, D, NT>(sQ, T::LDQ, q, q0, p.nq, p.d);
  load_rows<BQ, NT>(sL, lse, q0, p.nq, -INFINITY);
  load_rows<BQ, NT>(sLo, lse_lo, q0, p.nq, 0.f);

  float acc[DW / 8][4];
#pragma unroll
  for (int n = 0; n < DW / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] = 0.f;

  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK;
    cp_async_wait_all();
    __syncthreads();  // staging of this tile landed (all threads' copies); sQ/sL written; last tile's reads done
    split_tile<BK, D, NT>(sK2, T::LD2, stK);
    split_tile<BK, D, NT>(sV2, T::LD2, stV);
    __syncthreads();  // pairs ready; staging free
    if (it + 1 < nK) {
      load_tile_async<BK, D, NT>(stK, k, k0 + BK, p.nk, p.d, VEC);
      load_tile_async<BK, D, NT>(stV, v, k0 + BK, p.nk, p.dv, VEC);
      cp_async_commit();
    }

    float s[KW / 8][4];
    warp_scores_split<D, KW, T::UNROLL>(s, sQ, T::LDQ, w0, sK2, T::LD2, wc * KW);

#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = w0 + g + 8 * half;  // tile row of s[.][2*half], s[.][2*half+1]
      const float L = sL[r], Lo = sLo[r];  // L = -inf for rows past nq, so they get P = 0
      // keys k0 + c < kLim are visible to this row (the rule of visible(), once per row)
      const int kLim = L == -INFINITY ? 0 : key_end(p, min(q0 + r + 1, p.nq)) - k0;
#pragma unroll
      for (int j = 0; j < KW / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = wc * KW + j * 8 + 2 * t + e;
          sP[r * T::LDP + c] = c < kLim ? exp_score(s[j][2 * half + e], p.scale, L, Lo) : 0.f;
        }
    }
    if constexpr (T::WC == 1)
      __syncwarp();  // sP rows w0 .. w0+15 are this warp's alone
    else
      __syncthreads();  // the partner warp's P columns are in sP

    warp_acc_kn_split<BK, DW, T::UNROLL>(acc, sP, T::LDP, w0, sV2, T::LD2, wc * DW);
  }

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = q0 + w0 + g + 8 * half;
    if (r >= p.nq) continue;
#pragma unroll
    for (int n = 0; n < DW / 8; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = wc * DW + n * 8 + 2 * t + e;
        if (c < p.dv) o[(size_t)r * p.dv + c] = acc[n][2 * half + e];
      }
  }
}

inline bool fwd3_vec(const AttnProblem &p, const float *k, const float *v) {
  return p.d % 4 == 0 && p.dv % 4 == 0 && ((uintptr_t)k & 15) == 0 && ((uintptr_t)v & 15) == 0;
}

}  // namespace attn_tiled
