// tiled/backward_kernel4.cuh — stage 3, version 4 (float16 / bfloat16 storage): dQ, dK, dV on the tensor cores with
// mma.sync m16n8k16 (half operands, float32 accumulation; tiled/mma_f16.cuh), P and dS rebuilt from the lse pair,
// kept in registers and rounded to the storage type for their next product. Two passes, as backward versions 1-3,
// so every sum has one owner and the result is deterministic (no atomics):
//
// dK/dV pass: one block of W = 4 warps per (bh, BK = 64 keys); warp w owns keys 16w..16w+15 and their dK, dV
//   accumulators (float32, registers) for the whole kernel. Per query tile of BQ rows (Q, dO, lse and delta of tile
//   it+1 copied by cp.async while tile it is used; causal: from the first tile that sees the block's keys):
//     Sᵀ = K Qᵀ, Pᵀ = exp2((Sᵀ·scale - lse)·log2e - lse_lo·log2e), dV += Pᵀ dO (Pᵀ's C fragments -> A fragments),
//     dPᵀ = V dOᵀ, dSᵀ = Pᵀ ∘ (dPᵀ - delta), dK += dSᵀ Q; at the end dK *= scale.
// dQ pass: one block of W = 4 warps per (bh, BQ = 64 queries); warp w owns queries 16w.. with Q and dO as A fragments
//   in registers and dQ's accumulators. Per key tile of BK rows (K, V double-buffered by cp.async):
//     S = Q Kᵀ, dP = dO Vᵀ, dS = P ∘ (dP - delta), dQ += dS K; at the end dQ *= scale.
// delta_i = dO_i · O_i comes from the pre-pass (backward_delta.cu). Masks only on tiles that straddle the causal
// diagonal or the ends of the keys or queries. Limits: D in {64, 128} (d, dv <= D); any N, Nq != Nk, causal or not.
#pragma once
#include "common.cuh"
#include "exp2_score.cuh"
#include "mma_f16.cuh"

namespace attn_tiled {

// The streamed tile is shorter at D = 128, where dK, dV (or dQ) and the A fragments already take most registers.
template <int D> struct Bwd4Traits {
  static constexpr int kWarps = 4, NT = 32 * kWarps, LD = D + kPad;
  static constexpr int BK = 16 * kWarps, BQS = D == 64 ? 64 : 32;  // dK/dV pass: keys per block, queries per step
  static constexpr int BQ = 16 * kWarps, BKS = D == 64 ? 64 : 32;  // dQ pass: queries per block, keys per step
  static constexpr int kMinBlocks = 2;
  static constexpr size_t kvBytes = (2 * (size_t)BK * LD + 4 * (size_t)BQS * LD) * sizeof(uint16_t) +
                                    2 * 3 * BQS * sizeof(float);  // sK, sV, sQ[2], sdO[2], lse/lse_lo/delta[2]
  static constexpr size_t qBytes = (2 * (size_t)BQ * LD + 4 * (size_t)BKS * LD) * sizeof(uint16_t);  // sQ, sdO, sK[2], sV[2]
  static_assert(kMinBlocks * (kvBytes + 1024) <= 228 * 1024, "backward v4 dK/dV: kMinBlocks blocks do not fit one SM");
  static_assert(kMinBlocks * (qBytes + 1024) <= 228 * 1024, "backward v4 dQ: kMinBlocks blocks do not fit one SM");
};

// Starts copying query tile i0 (Q, dO and the per-row lse hi, lse_lo·log2e, delta) into buffer `buf`. Rows past nq
// get hi = +inf (P = 0 there).
template <int D>
__device__ __forceinline__ void bwd4_load_queries(uint16_t *sQ, uint16_t *sdO, float *sRow, int i0, const AttnProblem &p,
                                                  const uint16_t *q, const uint16_t *dO, const float *lse,
                                                  const float *lse_lo, const float *delta, bool vecQ, bool vecO) {
  using T = Bwd4Traits<D>;
  load_tile_h<T::BQS, D, T::NT>(sQ, T::LD, q, i0, p.nq, p.d, vecQ);
  load_tile_h<T::BQS, D, T::NT>(sdO, T::LD, dO, i0, p.nq, p.dv, vecO);
  for (int r = threadIdx.x; r < T::BQS; r += T::NT) {
    const int i = i0 + r;
    const float hi = i < p.nq ? lse[i] : INFINITY;
    sRow[r] = hi;
    sRow[T::BQS + r] = i < p.nq && hi != -INFINITY ? lse_lo[i] * kLog2e : 0.f;
    sRow[2 * T::BQS + r] = i < p.nq ? delta[i] : 0.f;
  }
}

template <int D, bool BF16>
__global__ void __launch_bounds__(Bwd4Traits<D>::NT, Bwd4Traits<D>::kMinBlocks)
    backward_dkdv_tiled_kernel4(AttnProblem p, const uint16_t *__restrict__ q, const uint16_t *__restrict__ k,
                                const uint16_t *__restrict__ v, const uint16_t *__restrict__ dO,
                                const float *__restrict__ lse, const float *__restrict__ lse_lo,
                                const float *__restrict__ delta, uint16_t *__restrict__ dk, uint16_t *__restrict__ dv,
                                bool vecQK, bool vecV) {
  using T = Bwd4Traits<D>;
  constexpr int BK = T::BK, BQ = T::BQS, NT = T::NT, LD = T::LD;
  extern __shared__ float smem[];
  uint16_t *sK = reinterpret_cast<uint16_t *>(smem);
  uint16_t *sV = sK + BK * LD;
  uint16_t *sQ = sV + BK * LD;       // [2][BQ][LD]
  uint16_t *sdO = sQ + 2 * BQ * LD;  // [2][BQ][LD]
  float *sRow = reinterpret_cast<float *>(sdO + 2 * BQ * LD);  // [2][3][BQ]: lse hi, lse_lo·log2e, delta

  const int b = blockIdx.x % p.bh;
  const int k0 = (int)(blockIdx.x / p.bh) * BK;  // causal: early key tiles see the most queries, so go first
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
  const int iBegin = query_begin(p, k0) / BQ * BQ;
  const int nQ = iBegin < p.nq ? ceil_div(p.nq - iBegin, BQ) : 0;
  const bool keysIn = k0 + BK <= p.nk;

  load_tile_h<BK, D, NT>(sK, LD, k, k0, p.nk, p.d, vecQK);
  load_tile_h<BK, D, NT>(sV, LD, v, k0, p.nk, p.dv, vecV);
  if (nQ > 0) bwd4_load_queries<D>(sQ, sdO, sRow, iBegin, p, q, dO, lse, lse_lo, delta, vecQK, vecV);
  cp_async_commit();

  float accK[D / 8][4], accV[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) accK[n][e] = accV[n][e] = 0.f;

  const int key[2] = {k0 + warp * 16 + g, k0 + warp * 16 + g + 8};  // the keys of C rows g and g + 8
  for (int it = 0; it < nQ; ++it) {
    const int i0 = iBegin + it * BQ, buf = it % 2;
    cp_async_wait_all();
    __syncthreads();  // tile it (and K, V, first time) ready; every warp is done with tile it - 1's buffer
    if (it + 1 < nQ) {
      const int nb = 1 - buf;
      bwd4_load_queries<D>(sQ + nb * BQ * LD, sdO + nb * BQ * LD, sRow + nb * 3 * BQ, i0 + BQ, p, q, dO, lse, lse_lo,
                           delta, vecQK, vecV);
      cp_async_commit();
    }
    const uint16_t *tQ = sQ + buf * BQ * LD, *tdO = sdO + buf * BQ * LD;
    const float *tHi = sRow + buf * 3 * BQ, *tLo2 = tHi + BQ, *tDelta = tHi + 2 * BQ;
    // every (key, query) of the tile visible: queries < nq, keys < nk, and the block's last key <= the first query's
    const bool full = keysIn && i0 + BQ <= p.nq && (!p.causal || (long long)k0 + BK - 1 <= (long long)i0 + p.nk - p.nq);

    float s[BQ / 8][4];
    {
      uint32_t ka[D / 16][4];
      ldsm_rows<D>(ka, sK, LD, warp * 16);
      warp_scores_h<D, BQ, BF16>(s, ka, tQ, LD);
    }
    // Pᵀ: columns are queries j*8 + 2t + (e & 1), rows keys[e / 2]
#pragma unroll
    for (int j = 0; j < BQ / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int c = j * 8 + 2 * t + (e & 1), i = i0 + c;
        const float pe = exp2_score(s[j][e], p.scale, tHi[c], tLo2[c]);
        s[j][e] = full || visible(p, i, key[e / 2]) ? pe : 0.f;
      }
    {
      uint32_t pa[BQ / 16][4];
#pragma unroll
      for (int kk = 0; kk < BQ / 16; ++kk) a_frag_from_c<BF16>(pa[kk], s[2 * kk], s[2 * kk + 1]);
      warp_acc_h<BQ, D, BF16>(accV, pa, tdO, LD);
    }
    float dp[BQ / 8][4];
    {
      uint32_t va[D / 16][4];
      ldsm_rows<D>(va, sV, LD, warp * 16);
      warp_scores_h<D, BQ, BF16>(dp, va, tdO, LD);
    }
#pragma unroll
    for (int j = 0; j < BQ / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) dp[j][e] = s[j][e] * (dp[j][e] - tDelta[j * 8 + 2 * t + (e & 1)]);
    {
      uint32_t da[BQ / 16][4];
#pragma unroll
      for (int kk = 0; kk < BQ / 16; ++kk) a_frag_from_c<BF16>(da[kk], dp[2 * kk], dp[2 * kk + 1]);
      warp_acc_h<BQ, D, BF16>(accK, da, tQ, LD);
    }
  }
  cp_async_wait_all();  // nQ = 0: the K and V copies are still in flight

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = key[h];
    if (r >= p.nk) continue;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = n * 8 + 2 * t + e;
        if (c < p.d) dk[(size_t)r * p.d + c] = to_half_bits<BF16>(accK[n][2 * h + e] * p.scale);
        if (c < p.dv) dv[(size_t)r * p.dv + c] = to_half_bits<BF16>(accV[n][2 * h + e]);
      }
  }
}

template <int D, bool BF16>
__global__ void __launch_bounds__(Bwd4Traits<D>::NT, Bwd4Traits<D>::kMinBlocks)
    backward_dq_tiled_kernel4(AttnProblem p, const uint16_t *__restrict__ q, const uint16_t *__restrict__ k,
                              const uint16_t *__restrict__ v, const uint16_t *__restrict__ dO,
                              const float *__restrict__ lse, const float *__restrict__ lse_lo,
                              const float *__restrict__ delta, uint16_t *__restrict__ dq, bool vecQK, bool vecV) {
  using T = Bwd4Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BKS, NT = T::NT, LD = T::LD;
  extern __shared__ float smem[];
  uint16_t *sQ = reinterpret_cast<uint16_t *>(smem);
  uint16_t *sdO = sQ + BQ * LD;
  uint16_t *sK = sdO + BQ * LD;      // [2][BK][LD]
  uint16_t *sV = sK + 2 * BK * LD;   // [2][BK][LD]

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;  // heavy (late, causal) tiles first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;
  v += (size_t)b * p.nk * p.dv;
  dO += (size_t)b * p.nq * p.dv;
  lse += (size_t)b * p.nq;
  lse_lo += (size_t)b * p.nq;
  delta += (size_t)b * p.nq;
  dq += (size_t)b * p.nq * p.d;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));
  const int nK = ceil_div(kEnd, BK);
  const int kFull = q0 + BQ <= p.nq ? key_end(p, q0 + 1) : 0;  // keys every row of the block sees

  load_tile_h<BQ, D, NT>(sQ, LD, q, q0, p.nq, p.d, vecQK);
  load_tile_h<BQ, D, NT>(sdO, LD, dO, q0, p.nq, p.dv, vecV);
  if (nK > 0) {
    load_tile_h<BK, D, NT>(sK, LD, k, 0, p.nk, p.d, vecQK);
    load_tile_h<BK, D, NT>(sV, LD, v, 0, p.nk, p.dv, vecV);
  }
  cp_async_commit();

  float hi[2], lo2[2], dl[2];
  int rowEnd[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = q0 + warp * 16 + g + 8 * h;
    hi[h] = r < p.nq ? lse[r] : -INFINITY;
    lo2[h] = r < p.nq && hi[h] != -INFINITY ? lse_lo[r] * kLog2e : 0.f;
    dl[h] = r < p.nq ? delta[r] : 0.f;
    rowEnd[h] = hi[h] == -INFINITY ? 0 : key_end(p, r + 1);
  }

  float acc[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] = 0.f;

  uint32_t qa[D / 16][4], oa[D / 16][4];
  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK, buf = it % 2;
    cp_async_wait_all();
    __syncthreads();  // tile it (and Q, dO, first time) ready; every warp is done with tile it - 1's buffer
    if (it == 0) {
      ldsm_rows<D>(qa, sQ, LD, warp * 16);
      ldsm_rows<D>(oa, sdO, LD, warp * 16);
    }
    if (it + 1 < nK) {
      load_tile_h<BK, D, NT>(sK + (1 - buf) * BK * LD, LD, k, k0 + BK, p.nk, p.d, vecQK);
      load_tile_h<BK, D, NT>(sV + (1 - buf) * BK * LD, LD, v, k0 + BK, p.nk, p.dv, vecV);
      cp_async_commit();
    }
    const uint16_t *tK = sK + buf * BK * LD, *tV = sV + buf * BK * LD;

    float s[BK / 8][4], dp[BK / 8][4];
    warp_scores_h<D, BK, BF16>(s, qa, tK, LD);
    warp_scores_h<D, BK, BF16>(dp, oa, tV, LD);
    const bool full = k0 + BK <= kFull;
#pragma unroll
    for (int j = 0; j < BK / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = k0 + j * 8 + 2 * t + (e & 1);
        const float pe = exp2_score(s[j][e], p.scale, hi[e / 2], lo2[e / 2]);
        dp[j][e] = full || key < rowEnd[e / 2] ? pe * (dp[j][e] - dl[e / 2]) : 0.f;
      }
    uint32_t da[BK / 16][4];
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) a_frag_from_c<BF16>(da[kk], dp[2 * kk], dp[2 * kk + 1]);
    warp_acc_h<BK, D, BF16>(acc, da, tK, LD);
  }
  cp_async_wait_all();  // nK = 0: the Q and dO copies are still in flight

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = q0 + warp * 16 + g + 8 * h;
    if (r >= p.nq) continue;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = n * 8 + 2 * t + e;
        if (c < p.d) dq[(size_t)r * p.d + c] = to_half_bits<BF16>(acc[n][2 * h + e] * p.scale);
      }
  }
}

}  // namespace attn_tiled
