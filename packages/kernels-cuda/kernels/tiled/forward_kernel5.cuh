// tiled/forward_kernel5.cuh — stage 2, version 5 (float16 / bfloat16 storage): O = exp(S - lse) V on the tensor
// cores with mma.sync m16n8k16 (half operands, float32 accumulation; tiled/mma_f16.cuh).
//
// One block of W = 4 warps per (bh, BQ = 16 MT W query rows); warp w owns MT m-tiles of 16 rows for the whole kernel:
//   once:     the Q tile -> shared memory (cp.async); with MT = 1 this warp's A fragments then live in registers
//             (ldmatrix), with MT = 2 they are read from shared memory per k step (registers hold two O tiles).
//   per key tile of BK rows, double-buffered: tile it+1's K and V are copied (cp.async) while tile it is used;
//             in chunks of KC keys (MT = 2: 16 at D = 64, 32 at D = 128; MT = 1: the whole tile), so that only one
//             chunk's scores are live: S = Q Kᵀ (B fragments by ldmatrix from K's rows, each feeding MT chains),
//             P = exp2((S·scale - lse)·log2e - lse_lo·log2e) in float32 (masks only on tiles that straddle the causal
//             diagonal or the end of the keys), P rounded to the storage type straight from its C fragments into A
//             fragments, O += P V (B fragments by ldmatrix.trans from V's rows) into float32 accumulators that live
//             across the whole key loop. Chunking changes no result: every S chain and the order of O's mmas are
//             those of one pass over the tile.
//   end:      O rounded once to the storage type.
// Two shapes (the shape knob): 0 = MT 2 (BQ 128, half the shared-memory reads per mma), 1 = MT 1 (BQ 64: twice the
// blocks, for grids that leave SMs idle); automatic as for fwd4 (tiled/dispatch.cuh tile_config). Registers (ptxas -v,
// sm_90, no spill): D 64: 168 (shape 0) and 160 (shape 1), 3 blocks per SM; D 128: 253 and 209, 2 blocks.
// The S chain is D/16 mmas per score; O's chain runs over all keys (its truncation, ~2^-24 per mma, is far under a
// half ulp). Limits: D in {64, 128} (d, dv <= D); any N, Nq != Nk, causal or not; 16-byte copies where d (dv) % 8 == 0
// and the tensor is 16-byte aligned, else 2-byte loads.
#pragma once
#include "common.cuh"
#include "exp2_score.cuh"
#include "mma_f16.cuh"

namespace attn_tiled {

template <int D, int CFG = 0> struct Fwd5Traits {
  static constexpr int MT = CFG == 0 ? 2 : 1;
  static constexpr int kWarps = 4, BQ = 16 * MT * kWarps, BK = 64, NT = 32 * kWarps, LD = D + kPad;
  // Keys per S -> P -> O += P V chunk, and how many chunks the compiler may overlap: the widest that leaves no spill
  // (ptxas -v: MT 2 at D 64 fits 3 blocks per SM in 168 registers, D 128 fits 253 with the chunks kept apart).
  static constexpr int KC = MT == 1 ? BK : D == 64 ? BK / 4 : BK / 2;
  static constexpr int kChunkUnroll = D == 64 ? BK / KC : 1;
  static constexpr int kMinBlocks = D == 64 ? 3 : 2;
  static constexpr size_t qElems = (size_t)BQ * LD, kvElems = (size_t)BK * LD;
  static constexpr size_t bytes = (qElems + 4 * kvElems) * sizeof(uint16_t);  // sQ, sK[2], sV[2]
  static_assert(kMinBlocks * (bytes + 1024) <= 228 * 1024, "forward v5: kMinBlocks blocks do not fit one SM");
};

template <int D, int CFG, bool BF16>
__global__ void __launch_bounds__(Fwd5Traits<D, CFG>::NT, Fwd5Traits<D, CFG>::kMinBlocks)
    forward_tiled_kernel5(AttnProblem p, const uint16_t *__restrict__ q, const uint16_t *__restrict__ k,
                          const uint16_t *__restrict__ v, const float *__restrict__ lse,
                          const float *__restrict__ lse_lo, uint16_t *__restrict__ o, bool vecQK, bool vecV) {
  using T = Fwd5Traits<D, CFG>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT, LD = T::LD, MT = T::MT, KC = T::KC;
  extern __shared__ float smem[];
  uint16_t *sQ = reinterpret_cast<uint16_t *>(smem);
  uint16_t *sK = sQ + T::qElems;         // [2][BK][LD]
  uint16_t *sV = sK + 2 * T::kvElems;    // [2][BK][LD]

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;  // heavy (late, causal) tiles first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;
  v += (size_t)b * p.nk * p.dv;
  lse += (size_t)b * p.nq;
  lse_lo += (size_t)b * p.nq;
  o += (size_t)b * p.nq * p.dv;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));
  const int nK = ceil_div(kEnd, BK);
  const int kFull = q0 + BQ <= p.nq ? key_end(p, q0 + 1) : 0;  // keys every row of the block sees

  load_tile_h<BQ, D, NT>(sQ, LD, q, q0, p.nq, p.d, vecQK);
  if (nK > 0) {
    load_tile_h<BK, D, NT>(sK, LD, k, 0, p.nk, p.d, vecQK);
    load_tile_h<BK, D, NT>(sV, LD, v, 0, p.nk, p.dv, vecV);
  }
  cp_async_commit();

  // Rows of m-tile m, half h: q0 + (warp MT + m) 16 + g + 8h.
  const int row0 = warp * MT * 16;
  float hi[MT][2], lo2[MT][2];
  int rowEnd[MT][2];  // exclusive end of the keys each row sees (0 for rows past nq or with lse = -inf)
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + row0 + 16 * m + g + 8 * h;
      hi[m][h] = r < p.nq ? lse[r] : -INFINITY;
      lo2[m][h] = r < p.nq ? lse_lo[r] * kLog2e : 0.f;
      rowEnd[m][h] = hi[m][h] == -INFINITY ? 0 : key_end(p, r + 1);
    }

  float acc[MT][D / 8][4];
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.f;

  uint32_t qa[MT == 1 ? D / 16 : 1][4];  // MT = 1: Q's A fragments, kept
  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK, buf = it % 2;
    cp_async_wait_all();
    __syncthreads();  // tile it (and Q, first time) ready; every warp is done with tile it - 1's buffer
    if constexpr (MT == 1)
      if (it == 0) ldsm_rows<D>(qa, sQ, LD, row0);
    if (it + 1 < nK) {
      load_tile_h<BK, D, NT>(sK + (1 - buf) * T::kvElems, LD, k, k0 + BK, p.nk, p.d, vecQK);
      load_tile_h<BK, D, NT>(sV + (1 - buf) * T::kvElems, LD, v, k0 + BK, p.nk, p.dv, vecV);
      cp_async_commit();
    }
    const uint16_t *tK = sK + buf * T::kvElems, *tV = sV + buf * T::kvElems;

    // The tile in chunks of KC keys, each S -> P -> O += P V before the next (fewer live scores; the same mma chains in
    // the same order as one pass over the tile).
    const bool full = k0 + BK <= kFull;
#pragma unroll(T::kChunkUnroll)
    for (int kc = 0; kc < BK; kc += KC) {
      float s[MT][KC / 8][4];
      if constexpr (MT == 1)
        warp_scores_h<D, KC, BF16>(s[0], qa, tK + kc * LD, LD);
      else
        warp_scores_mt<D, KC, MT, BF16>(s, sQ, row0, tK + kc * LD, LD);

      if (full) {
#pragma unroll
        for (int m = 0; m < MT; ++m)
#pragma unroll
          for (int j = 0; j < KC / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) s[m][j][e] = exp2_score(s[m][j][e], p.scale, hi[m][e / 2], lo2[m][e / 2]);
      } else {
#pragma unroll
        for (int m = 0; m < MT; ++m)
#pragma unroll
          for (int j = 0; j < KC / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int key = k0 + kc + j * 8 + 2 * t + (e & 1);
              const float pe = exp2_score(s[m][j][e], p.scale, hi[m][e / 2], lo2[m][e / 2]);
              s[m][j][e] = key < rowEnd[m][e / 2] ? pe : 0.f;
            }
      }

      uint32_t pa[MT][KC / 16][4];
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int kk = 0; kk < KC / 16; ++kk) a_frag_from_c<BF16>(pa[m][kk], s[m][2 * kk], s[m][2 * kk + 1]);
      warp_acc_mt<KC, D, MT, BF16>(acc, pa, tV + kc * LD, LD);
    }
  }
  cp_async_wait_all();  // nK = 0: the Q copy is still in flight

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
          if (c < p.dv) o[(size_t)r * p.dv + c] = to_half_bits<BF16>(acc[m][n][2 * h + e]);
        }
    }
}

}  // namespace attn_tiled
