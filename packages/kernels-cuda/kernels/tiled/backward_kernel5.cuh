// tiled/backward_kernel5.cuh — stage 3, version 5 (float16 / bfloat16 storage): bwd4's two passes and numerics
// (mma.sync m16n8k16, float32 accumulators, P from the lse pair with exp2_score, P and dS rounded to the storage type
// for their products, dK *= scale and dQ *= scale at the end; deterministic, no atomics) re-tiled so that each B
// fragment read from shared memory by ldmatrix feeds MT = 2 or 4 mmas instead of one.
//
// dK/dV pass: one block of 2·NP warps per (bh, BK = 128 keys), NP warp pairs; pair p owns keys 16·MT·p .. +16·MT-1
//   (D = 128: NP = 4, MT = 2, 8 warps, 1 block per SM; D = 64: NP = 2, MT = 4, 4 warps, 2 blocks per SM; BQ = 32
//   queries per step; BQ = 64 at D = 128 spills past 255 registers).
//   In a pair the "P warp" (warps 0..NP-1) owns dV and the "dS warp" (warps NP..2NP-1) owns dK of the pair's keys over
//   all D columns (float32 C fragments, MT·D/2 registers per thread), so the accumulators of both take one warp's
//   registers each and every product of a step has MT m-tiles per B fragment. Per query tile (Q, dO, lse, lse_lo,
//   delta of tile it+1 copied by cp.async while tile it is used; causal: from the first tile that sees the block):
//     phase 1: P warp  Sᵀ = K Qᵀ (A: K rows, B: Q), Pᵀ = exp2_score(...) masked, Pᵀ stored float32 to sP;
//              dS warp dPᵀ = V dOᵀ (A: V rows, B: dO);
//     barrier;
//     phase 2: P warp  dV += Pᵀ dO (Pᵀ rounded to half from its C fragments, B: dO, ldmatrix.trans);
//              dS warp dSᵀ = Pᵀ ∘ (dPᵀ - delta) with Pᵀ read back from sP in the same fragment layout (float32, as in
//              bwd4), dK += dSᵀ Q (dSᵀ rounded to half, B: Q, ldmatrix.trans).
//   Both phases give the two warps of a pair the same mma count, so the barrier costs little. At the end dK *= scale.
//   Shared-memory bytes per (key, query), operands + sP round trip + cp.async fill: D = 128 48 + 8 + 4 (bwd4: 88),
//   D = 64 16 + 8 + 2 (bwd4: 39): each Q / dO B fragment feeds MT m-tiles instead of one.
// dQ pass, D = 64: one block of 4 warps per (bh, 128 queries); warp w owns 32 queries (MT = 2 m-tiles) with Q and dO
//   as A fragments in registers and dQ's accumulators; per key tile of BKS = 32 rows (K, V double-buffered by
//   cp.async): S = Q Kᵀ, dP = dO Vᵀ, dS = P ∘ (dP - delta), dQ += dS K (each K / V fragment feeds two m-tiles: half
//   bwd4's bytes per mma); at the end dQ *= scale.
// dQ pass, D = 128, by warp pairs: one block of 4 pairs (8 warps, 1 block per SM) per (bh, 128 queries); pair p owns
//   queries 32p..32p+31 (two m-tiles). Its "S warp" (warps 0..3) holds Q's A fragments, its "dP warp" (warps 4..7)
//   dO's (64 registers each; one warp holding both for two m-tiles could not also hold dQ), and each owns dQ's
//   columns 64·role..+63 of the pair's queries (64 accumulator registers). Per key tile of BKS = 64 rows (K, V
//   double-buffered by cp.async; block barrier):
//     phase 1: S warp S = Q Kᵀ, P = exp2_score(...) masked, m-tile 1's P stored float32 to sX;
//              dP warp dP = dO Vᵀ, m-tile 0's dP stored float32 to sX (C-fragment order, one float4 per lane);
//     pair barrier (bar.sync 1 + p, 64 threads);
//     phase 2: each warp dS = P ∘ (dP - delta) of one m-tile (S warp: 0, dP warp: 1) from its own and its peer's
//              values, rounded to half into A fragments, stored to sS (one uint4 per lane and k step);
//     pair barrier; each warp reads the other m-tile's dS;
//     phase 3: dQ[:, 64·role..] += dS K[:, 64·role..] for both m-tiles (each K fragment feeds two mmas).
//   Both roles do the same mma count in each phase. At the end dQ *= scale.
//   Shared-memory bytes per (key, query): operands 24 (K for S 8, V for dP 8, half of K's columns per warp for dQ 8)
//   + hand-over 12 (float P / dP 8, half dS 4) + cp.async fill 4 = 40 (bwd4: 48 + 8 = 56). BKS = 64 halves the
//   barriers per key of BKS = 32 at the same bytes (254 against 252 registers, both without spills).
// delta_i = dO_i · O_i comes from the pre-pass (backward_delta.cu). Masks only on tiles that straddle the causal
// diagonal or the ends of the keys or queries. Limits: D in {64, 128} (d, dv <= D; columns past d / dv are zero in
// shared memory); any N, Nq != Nk, causal or not.
// Numerics: bwd4's, operation for operation — P and dS rounded to half from the same float32 values, each score one
// mma chain over D in k-step order, dK / dV / dQ one mma chain over the queries (keys) in the same order (the step
// widths differ, the order of the 16-wide k steps does not); the emulator's outputs are bit-identical to bwd4's.
#pragma once
#include "common.cuh"
#include "exp2_score.cuh"
#include "mma_f16.cuh"

namespace attn_tiled {

template <int D> struct Bwd5Traits {
  static constexpr int LD = D + kPad;
  // dK/dV pass
  static constexpr int kvMT = D == 64 ? 4 : 2;         // 16-key m-tiles per warp
  static constexpr int kvPairs = D == 64 ? 2 : 4;      // warp pairs per block
  static constexpr int kvNT = 64 * kvPairs;            // threads
  static constexpr int BK = 16 * kvMT * kvPairs;       // keys per block (128)
  static constexpr int BQS = 32;                    // queries per step
  static constexpr int kvMinBlocks = D == 64 ? 2 : 1;  // 8 warps per SM either way
  static constexpr size_t kvBytes = (2 * (size_t)BK * LD + 4 * (size_t)BQS * LD) * sizeof(uint16_t) +
                                    2 * 3 * BQS * sizeof(float) +         // lse hi, lse_lo·log2e, delta [2]
                                    (size_t)BK * BQS * sizeof(float);     // sP: the pairs' Pᵀ tiles
  // dQ pass (D = 128: warp pairs, 32 queries per pair; D = 64: one warp per 32 queries)
  static constexpr bool qPairs = D == 128;
  static constexpr int qMT = 2;                          // 16-query m-tiles per warp (D = 64) or per pair (D = 128)
  static constexpr int qWarps = D == 128 ? 8 : 4, qNT = 32 * qWarps;
  static constexpr int BQ = qPairs ? 16 * qMT * qWarps / 2 : 16 * qMT * qWarps;  // queries per block (128 either way)
  static constexpr int BKS = D == 128 ? 64 : 32;         // keys per step
  static constexpr int qMinBlocks = D == 128 ? 1 : 2;    // 8 warps per SM either way
  static constexpr size_t qXBytes = qPairs ? (size_t)(qWarps / 2) * 2 * 32 * (BKS / 8 * sizeof(float) * 4 +
                                                                              BKS / 16 * sizeof(uint32_t) * 4)
                                           : 0;  // the pairs' hand-over: float P / dP of one m-tile, dS A fragments
  static constexpr size_t qBytes = (2 * (size_t)BQ * LD + 4 * (size_t)BKS * LD) * sizeof(uint16_t) + qXBytes;
  static_assert(kvMinBlocks * (kvBytes + 1024) <= 228 * 1024, "backward v5 dK/dV: kvMinBlocks blocks do not fit one SM");
  static_assert(qMinBlocks * (qBytes + 1024) <= 228 * 1024, "backward v5 dQ: qMinBlocks blocks do not fit one SM");
};

// acc[m] (16 x N each) += A[m] (16 x K) times the padded tile sY (K x N row-major), the A fragments built per k step
// from the float C fragments c[m][2kk], c[m][2kk+1] rounded to halves (P or dS, a_frag_from_c): each B fragment feeds
// MT mmas, and only one k step of A fragments is live at a time.
template <int K, int N, int MT, bool BF16>
__device__ __forceinline__ void warp_acc_from_c(float (&acc)[MT][N / 8][4], const float (&c)[MT][K / 8][4],
                                                const uint16_t *sY, int ld) {
#pragma unroll
  for (int kk = 0; kk < K / 16; ++kk) {
    uint32_t a[MT][4];
#pragma unroll
    for (int m = 0; m < MT; ++m) a_frag_from_c<BF16>(a[m], c[m][2 * kk], c[m][2 * kk + 1]);
#pragma unroll
    for (int n = 0; n < N / 8; n += 2) {
      uint32_t b[4];
      ldsm_b_kn(b, sY, ld, kk * 16, n * 8);
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        mma_h<BF16>(acc[m][n], a[m], {b[0], b[1]});
        mma_h<BF16>(acc[m][n + 1], a[m], {b[2], b[3]});
      }
    }
  }
}

// Starts copying query tile i0 (Q, dO and the per-row lse hi, lse_lo·log2e, delta) into buffer `buf`. Rows past nq
// get hi = +inf (P = 0 there).
template <int D>
__device__ __forceinline__ void bwd5_load_queries(uint16_t *sQ, uint16_t *sdO, float *sRow, int i0, const AttnProblem &p,
                                                  const uint16_t *q, const uint16_t *dO, const float *lse,
                                                  const float *lse_lo, const float *delta, bool vecQ, bool vecO) {
  using T = Bwd5Traits<D>;
  load_tile_h<T::BQS, D, T::kvNT>(sQ, T::LD, q, i0, p.nq, p.d, vecQ);
  load_tile_h<T::BQS, D, T::kvNT>(sdO, T::LD, dO, i0, p.nq, p.dv, vecO);
  for (int r = threadIdx.x; r < T::BQS; r += T::kvNT) {
    const int i = i0 + r;
    const float hi = i < p.nq ? lse[i] : INFINITY;
    sRow[r] = hi;
    sRow[T::BQS + r] = i < p.nq && hi != -INFINITY ? lse_lo[i] * kLog2e : 0.f;
    sRow[2 * T::BQS + r] = i < p.nq ? delta[i] : 0.f;
  }
}

template <int D, bool BF16>
__global__ void __launch_bounds__(Bwd5Traits<D>::kvNT, Bwd5Traits<D>::kvMinBlocks)
    backward_dkdv_tiled_kernel5(AttnProblem p, const uint16_t *__restrict__ q, const uint16_t *__restrict__ k,
                                const uint16_t *__restrict__ v, const uint16_t *__restrict__ dO,
                                const float *__restrict__ lse, const float *__restrict__ lse_lo,
                                const float *__restrict__ delta, uint16_t *__restrict__ dk, uint16_t *__restrict__ dv,
                                bool vecQK, bool vecV) {
  using T = Bwd5Traits<D>;
  constexpr int BK = T::BK, BQ = T::BQS, NT = T::kvNT, LD = T::LD, MT = T::kvMT, NJ = BQ / 8;
  extern __shared__ float smem[];
  uint16_t *sK = reinterpret_cast<uint16_t *>(smem);
  uint16_t *sV = sK + BK * LD;
  uint16_t *sQ = sV + BK * LD;       // [2][BQ][LD]
  uint16_t *sdO = sQ + 2 * BQ * LD;  // [2][BQ][LD]
  float *sRow = reinterpret_cast<float *>(sdO + 2 * BQ * LD);  // [2][3][BQ]: lse hi, lse_lo·log2e, delta
  float4 *sP = reinterpret_cast<float4 *>(sRow + 2 * 3 * BQ);  // [pairs][MT][NJ][32 lanes]: Pᵀ C fragments

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
  const int pair = warp % T::kvPairs;
  const bool dsWarp = warp >= T::kvPairs;  // false: the P warp (dV), true: the dS warp (dK)
  const int row0 = pair * 16 * MT;         // the pair's first key, in the block
  const int iBegin = query_begin(p, k0) / BQ * BQ;
  const int nQ = iBegin < p.nq ? ceil_div(p.nq - iBegin, BQ) : 0;
  const bool keysIn = k0 + BK <= p.nk;

  load_tile_h<BK, D, NT>(sK, LD, k, k0, p.nk, p.d, vecQK);
  load_tile_h<BK, D, NT>(sV, LD, v, k0, p.nk, p.dv, vecV);
  if (nQ > 0) bwd5_load_queries<D>(sQ, sdO, sRow, iBegin, p, q, dO, lse, lse_lo, delta, vecQK, vecV);
  cp_async_commit();

  float acc[MT][D / 8][4];  // dV (P warp) or dK (dS warp)
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.f;

  float4 *myP = sP + pair * MT * NJ * 32 + lane;
  const uint16_t *sA = dsWarp ? sV : sK;  // phase 1's A operand rows
  for (int it = 0; it < nQ; ++it) {
    const int i0 = iBegin + it * BQ, buf = it % 2;
    cp_async_wait_all();
    __syncthreads();  // tile it (and K, V, first time) ready; every warp is done with tile it - 1's buffer and sP
    if (it + 1 < nQ) {
      const int nb = 1 - buf;
      bwd5_load_queries<D>(sQ + nb * BQ * LD, sdO + nb * BQ * LD, sRow + nb * 3 * BQ, i0 + BQ, p, q, dO, lse, lse_lo,
                           delta, vecQK, vecV);
      cp_async_commit();
    }
    const uint16_t *tQ = sQ + buf * BQ * LD, *tdO = sdO + buf * BQ * LD;
    const float *tHi = sRow + buf * 3 * BQ, *tLo2 = tHi + BQ, *tDelta = tHi + 2 * BQ;
    // every (key, query) of the tile visible: queries < nq, keys < nk, and the block's last key <= the first query's
    const bool full = keysIn && i0 + BQ <= p.nq && (!p.causal || (long long)k0 + BK - 1 <= (long long)i0 + p.nk - p.nq);

    // phase 1: Sᵀ (P warp) or dPᵀ (dS warp) for the pair's keys x the tile's queries
    float f[MT][NJ][4];
    warp_scores_mt<D, BQ, MT, BF16>(f, sA, row0, dsWarp ? tdO : tQ, LD);
    if (!dsWarp) {
      // Pᵀ: columns are queries j*8 + 2t + (e & 1), rows keys row0 + 16m + g + 8(e / 2)
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int j = 0; j < NJ; ++j) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int c = j * 8 + 2 * t + (e & 1), i = i0 + c, key = k0 + row0 + 16 * m + g + 8 * (e / 2);
            const float pe = exp2_score(f[m][j][e], p.scale, tHi[c], tLo2[c]);
            f[m][j][e] = full || visible(p, i, key) ? pe : 0.f;
          }
          myP[(m * NJ + j) * 32] = make_float4(f[m][j][0], f[m][j][1], f[m][j][2], f[m][j][3]);
        }
    }
    __syncthreads();  // the pairs' Pᵀ in sP
    if (dsWarp) {
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int j = 0; j < NJ; ++j) {
          const float4 pv = myP[(m * NJ + j) * 32];
          const float pe[4] = {pv.x, pv.y, pv.z, pv.w};
#pragma unroll
          for (int e = 0; e < 4; ++e) f[m][j][e] = pe[e] * (f[m][j][e] - tDelta[j * 8 + 2 * t + (e & 1)]);
        }
    }
    // phase 2: dV += Pᵀ dO (P warp) or dK += dSᵀ Q (dS warp)
    warp_acc_from_c<BQ, D, MT, BF16>(acc, f, dsWarp ? tQ : tdO, LD);
  }
  cp_async_wait_all();  // nQ = 0: the K and V copies are still in flight

  uint16_t *out = dsWarp ? dk : dv;
  const int cols = dsWarp ? p.d : p.dv;
  const float mul = dsWarp ? p.scale : 1.f;
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = k0 + row0 + 16 * m + g + 8 * h;
      if (r >= p.nk) continue;
#pragma unroll
      for (int n = 0; n < D / 8; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = n * 8 + 2 * t + e;
          if (c < cols) out[(size_t)r * cols + c] = to_half_bits<BF16>(dsWarp ? acc[m][n][2 * h + e] * mul : acc[m][n][2 * h + e]);
        }
    }
}

template <int D, bool BF16>
__global__ void __launch_bounds__(Bwd5Traits<D>::qNT, Bwd5Traits<D>::qMinBlocks)
    backward_dq_tiled_kernel5(AttnProblem p, const uint16_t *__restrict__ q, const uint16_t *__restrict__ k,
                              const uint16_t *__restrict__ v, const uint16_t *__restrict__ dO,
                              const float *__restrict__ lse, const float *__restrict__ lse_lo,
                              const float *__restrict__ delta, uint16_t *__restrict__ dq, bool vecQK, bool vecV) {
  using T = Bwd5Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BKS, NT = T::qNT, LD = T::LD, MT = T::qMT;
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
  const int row0 = warp * 16 * MT;  // the warp's first query, in the block
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

  float hi[MT][2], lo2[MT][2], dl[MT][2];
  int rowEnd[MT][2];
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + row0 + 16 * m + g + 8 * h;
      hi[m][h] = r < p.nq ? lse[r] : -INFINITY;
      lo2[m][h] = r < p.nq && hi[m][h] != -INFINITY ? lse_lo[r] * kLog2e : 0.f;
      dl[m][h] = r < p.nq ? delta[r] : 0.f;
      rowEnd[m][h] = hi[m][h] == -INFINITY ? 0 : key_end(p, r + 1);
    }

  float acc[MT][D / 8][4];
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.f;

  uint32_t qa[MT][D / 16][4], oa[MT][D / 16][4];
  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK, buf = it % 2;
    cp_async_wait_all();
    __syncthreads();  // tile it (and Q, dO, first time) ready; every warp is done with tile it - 1's buffer
    if (it == 0) {
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        ldsm_rows<D>(qa[m], sQ, LD, row0 + 16 * m);
        ldsm_rows<D>(oa[m], sdO, LD, row0 + 16 * m);
      }
    }
    if (it + 1 < nK) {
      load_tile_h<BK, D, NT>(sK + (1 - buf) * BK * LD, LD, k, k0 + BK, p.nk, p.d, vecQK);
      load_tile_h<BK, D, NT>(sV + (1 - buf) * BK * LD, LD, v, k0 + BK, p.nk, p.dv, vecV);
      cp_async_commit();
    }
    const uint16_t *tK = sK + buf * BK * LD, *tV = sV + buf * BK * LD;

    // S and dP for MT m-tiles, each B fragment (K or V rows) feeding MT mmas
    float s[MT][BK / 8][4], dp[MT][BK / 8][4];
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int j = 0; j < BK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[m][j][e] = dp[m][j][e] = 0.f;
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks)
#pragma unroll
      for (int j = 0; j < BK / 8; j += 2) {
        uint32_t bk[4], bv[4];
        ldsm_b_nk(bk, tK, LD, j * 8, ks * 16);
        ldsm_b_nk(bv, tV, LD, j * 8, ks * 16);
#pragma unroll
        for (int m = 0; m < MT; ++m) {
          mma_h<BF16>(s[m][j], qa[m][ks], {bk[0], bk[1]});
          mma_h<BF16>(s[m][j + 1], qa[m][ks], {bk[2], bk[3]});
          mma_h<BF16>(dp[m][j], oa[m][ks], {bv[0], bv[1]});
          mma_h<BF16>(dp[m][j + 1], oa[m][ks], {bv[2], bv[3]});
        }
      }
    const bool full = k0 + BK <= kFull;
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int j = 0; j < BK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = k0 + j * 8 + 2 * t + (e & 1), h = e / 2;
          const float pe = exp2_score(s[m][j][e], p.scale, hi[m][h], lo2[m][h]);
          dp[m][j][e] = full || key < rowEnd[m][h] ? pe * (dp[m][j][e] - dl[m][h]) : 0.f;
        }
    warp_acc_from_c<BK, D, MT, BF16>(acc, dp, tK, LD);
  }
  cp_async_wait_all();  // nK = 0: the Q and dO copies are still in flight

#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + row0 + 16 * m + g + 8 * h;
      if (r >= p.nq) continue;
#pragma unroll
      for (int n = 0; n < D / 8; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = n * 8 + 2 * t + e;
          if (c < p.d) dq[(size_t)r * p.d + c] = to_half_bits<BF16>(acc[m][n][2 * h + e] * p.scale);
        }
    }
}

// bar.sync of the 64 threads of warp pair `pair` (named barrier pair + 1; 0 is __syncthreads'): the two warps wait for
// each other only, not for the block.
__device__ __forceinline__ void pair_sync(int pair) {
#if defined(__CUDA_ARCH__)
  asm volatile("bar.sync %0, 64;" ::"r"(pair + 1) : "memory");
#elif defined(ATTN_TILED_EMU)
  emu_bar_sync(pair + 1, 64);
#endif
}

// dQ pass at D = 128 by warp pairs (header): role 0 (the S warp) of pair p holds Q's A fragments of queries
// 32p..32p+31 and computes S and P, role 1 (the dP warp) holds dO's and computes dP; each owns dQ's columns
// 64·role..+63 of those queries and computes dS of m-tile `role`.
template <bool BF16>
__global__ void __launch_bounds__(Bwd5Traits<128>::qNT, Bwd5Traits<128>::qMinBlocks)
    backward_dq_pairs_kernel5(AttnProblem p, const uint16_t *__restrict__ q, const uint16_t *__restrict__ k,
                              const uint16_t *__restrict__ v, const uint16_t *__restrict__ dO,
                              const float *__restrict__ lse, const float *__restrict__ lse_lo,
                              const float *__restrict__ delta, uint16_t *__restrict__ dq, bool vecQK, bool vecV) {
  constexpr int D = 128;
  using T = Bwd5Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BKS, NT = T::qNT, LD = T::LD, NP = T::qWarps / 2, NJ = BK / 8, KK = BK / 16;
  constexpr int DH = D / 2;  // dQ columns per warp
  static_assert(T::qMT == 2, "one m-tile of dS per warp of a pair");
  extern __shared__ float smem[];
  uint16_t *sQ = reinterpret_cast<uint16_t *>(smem);
  uint16_t *sdO = sQ + BQ * LD;
  uint16_t *sK = sdO + BQ * LD;     // [2][BK][LD]
  uint16_t *sV = sK + 2 * BK * LD;  // [2][BK][LD]
  float4 *sX = reinterpret_cast<float4 *>(sV + 2 * BK * LD);  // [NP][2][NJ][32 lanes]: P of m-tile 1 (role 0), dP of 0
  uint4 *sS = reinterpret_cast<uint4 *>(sX + NP * 2 * NJ * 32);  // [NP][2][KK][32 lanes]: dS A fragments of m-tile role

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
  const int pair = warp % NP, role = warp / NP;
  const int row0 = pair * 32;  // the pair's first query, in the block
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

  // role 0: hi, lo2, rowEnd of both m-tiles (P); each role: delta of its own m-tile (dS)
  float hi[2][2], lo2[2][2], dl[2];
  int rowEnd[2][2];
#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + row0 + 16 * m + g + 8 * h;
      hi[m][h] = r < p.nq ? lse[r] : -INFINITY;
      lo2[m][h] = r < p.nq && hi[m][h] != -INFINITY ? lse_lo[r] * kLog2e : 0.f;
      rowEnd[m][h] = hi[m][h] == -INFINITY ? 0 : key_end(p, r + 1);
    }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = q0 + row0 + 16 * role + g + 8 * h;
    dl[h] = r < p.nq ? delta[r] : 0.f;
  }

  float acc[2][DH / 8][4];
#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int n = 0; n < DH / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.f;

  float4 *xMine = sX + (pair * 2 + role) * NJ * 32 + lane, *xPeer = sX + (pair * 2 + 1 - role) * NJ * 32 + lane;
  uint4 *sMine = sS + (pair * 2 + role) * KK * 32 + lane, *sPeer = sS + (pair * 2 + 1 - role) * KK * 32 + lane;
  uint32_t xa[2][D / 16][4];  // Q (role 0) or dO (role 1), both m-tiles
  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK, buf = it % 2;
    cp_async_wait_all();
    __syncthreads();  // tile it (and Q, dO, first time) ready; every warp is done with tile it - 1's buffer
    if (it == 0) {
#pragma unroll
      for (int m = 0; m < 2; ++m) ldsm_rows<D>(xa[m], role ? sdO : sQ, LD, row0 + 16 * m);
    }
    if (it + 1 < nK) {
      load_tile_h<BK, D, NT>(sK + (1 - buf) * BK * LD, LD, k, k0 + BK, p.nk, p.d, vecQK);
      load_tile_h<BK, D, NT>(sV + (1 - buf) * BK * LD, LD, v, k0 + BK, p.nk, p.dv, vecV);
      cp_async_commit();
    }
    const uint16_t *tK = sK + buf * BK * LD, *tV = sV + buf * BK * LD;

    // S (role 0) or dP (role 1) of both m-tiles, each K / V B fragment feeding two mmas
    float f[2][NJ][4];
#pragma unroll
    for (int m = 0; m < 2; ++m)
#pragma unroll
      for (int j = 0; j < NJ; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) f[m][j][e] = 0.f;
    const uint16_t *tY = role ? tV : tK;
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks)
#pragma unroll
      for (int j = 0; j < NJ; j += 2) {
        uint32_t bb[4];
        ldsm_b_nk(bb, tY, LD, j * 8, ks * 16);
#pragma unroll
        for (int m = 0; m < 2; ++m) {
          mma_h<BF16>(f[m][j], xa[m][ks], {bb[0], bb[1]});
          mma_h<BF16>(f[m][j + 1], xa[m][ks], {bb[2], bb[3]});
        }
      }

    // hand-over: role 0 turns S into P (masked) and gives m-tile 1's P; role 1 gives m-tile 0's dP
    uint32_t ds[2][KK][4];
    if (role == 0) {
      const bool full = k0 + BK <= kFull;
#pragma unroll
      for (int m = 0; m < 2; ++m)
#pragma unroll
        for (int j = 0; j < NJ; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = k0 + j * 8 + 2 * t + (e & 1), h = e / 2;
            const float pe = exp2_score(f[m][j][e], p.scale, hi[m][h], lo2[m][h]);
            f[m][j][e] = full || key < rowEnd[m][h] ? pe : 0.f;
          }
#pragma unroll
      for (int j = 0; j < NJ; ++j) xMine[j * 32] = make_float4(f[1][j][0], f[1][j][1], f[1][j][2], f[1][j][3]);
    } else {
#pragma unroll
      for (int j = 0; j < NJ; ++j) xMine[j * 32] = make_float4(f[0][j][0], f[0][j][1], f[0][j][2], f[0][j][3]);
    }
    pair_sync(pair);  // the peer's P / dP in sX
    // dS = P ∘ (dP - delta) of the warp's own m-tile (role 0: m-tile 0, role 1: m-tile 1), as A fragments
    if (role == 0) {
#pragma unroll
      for (int j = 0; j < NJ; ++j) {
        const float4 x = xPeer[j * 32];
        const float d[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
        for (int e = 0; e < 4; ++e) f[0][j][e] = f[0][j][e] * (d[e] - dl[e / 2]);
      }
#pragma unroll
      for (int kk = 0; kk < KK; ++kk) {
        a_frag_from_c<BF16>(ds[0][kk], f[0][2 * kk], f[0][2 * kk + 1]);
        sMine[kk * 32] = make_uint4(ds[0][kk][0], ds[0][kk][1], ds[0][kk][2], ds[0][kk][3]);
      }
    } else {
#pragma unroll
      for (int j = 0; j < NJ; ++j) {
        const float4 x = xPeer[j * 32];
        const float pe[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
        for (int e = 0; e < 4; ++e) f[1][j][e] = pe[e] * (f[1][j][e] - dl[e / 2]);
      }
#pragma unroll
      for (int kk = 0; kk < KK; ++kk) {
        a_frag_from_c<BF16>(ds[1][kk], f[1][2 * kk], f[1][2 * kk + 1]);
        sMine[kk * 32] = make_uint4(ds[1][kk][0], ds[1][kk][1], ds[1][kk][2], ds[1][kk][3]);
      }
    }
    pair_sync(pair);  // the peer's dS in sS
    if (role == 0) {
#pragma unroll
      for (int kk = 0; kk < KK; ++kk) {
        const uint4 x = sPeer[kk * 32];
        ds[1][kk][0] = x.x, ds[1][kk][1] = x.y, ds[1][kk][2] = x.z, ds[1][kk][3] = x.w;
      }
    } else {
#pragma unroll
      for (int kk = 0; kk < KK; ++kk) {
        const uint4 x = sPeer[kk * 32];
        ds[0][kk][0] = x.x, ds[0][kk][1] = x.y, ds[0][kk][2] = x.z, ds[0][kk][3] = x.w;
      }
    }
    // dQ[:, 64·role..] += dS K[:, 64·role..], each K B fragment feeding both m-tiles
    warp_acc_mt<BK, DH, 2, BF16>(acc, ds, tK + role * DH, LD);
  }
  cp_async_wait_all();  // nK = 0: the Q and dO copies are still in flight

#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + row0 + 16 * m + g + 8 * h;
      if (r >= p.nq) continue;
#pragma unroll
      for (int n = 0; n < DH / 8; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = role * DH + n * 8 + 2 * t + e;
          if (c < p.d) dq[(size_t)r * p.d + c] = to_half_bits<BF16>(acc[m][n][2 * h + e] * p.scale);
        }
    }
}

}  // namespace attn_tiled
