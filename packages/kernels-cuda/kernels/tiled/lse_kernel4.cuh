// tiled/lse_kernel4.cuh — stage 1, version 4 (float16 / bfloat16 storage): lse_i = log sum_j exp(scale · q_i · k_j)
// with the scores on the tensor cores (mma.sync m16n8k16, half operands, float32 accumulation; tiled/mma_f16.cuh),
// as forward version 5 without the P V product.
//
// One block of W = 4 warps per (bh, BQ = 16 MT W query rows); warp w owns MT m-tiles of 16 rows: key tiles of BK rows
// double-buffered by cp.async, S = Q Kᵀ per tile (MT = 1: Q's A fragments in registers, loaded once; MT = 2: read from
// shared memory per k step, each K fragment feeding two chains), then the running (max, sum) of each row in the 4
// lanes that hold its C fragments (a 4-lane butterfly per tile). Shapes as forward 5 (shape 0 = MT 2, 1 = MT 1). The lse pair (lse_pair.cuh):
// m = the max of fl(S_raw·scale), l += exp2((S_raw·scale - m)·log2e) with S_raw·scale - m one fmaf, the same S_raw
// as forward 5 and backward 4 compute (the same mma chain over d). Rows that see no key get (-inf, 0) exactly.
// Interior tiles (every key visible to every row of the block) with scale > 0 take lse4_interior_tile: no masks, the
// max over the raw scores scaled once per row, all rows' reductions side by side (about 6 SASS instructions per score
// in the softmax: max, fmaf, mul, ex2, add, and the per-row butterflies); tiles on the causal diagonal or the end of the keys, and scale <= 0, take the
// masked path. Both give the same bits. Registers (ptxas -v, sm_90, no spill): 160 (shape 0, 3 blocks per SM), 116
// (D 64) and 132 (D 128) for shape 1.
// Limits: D in {64, 128} (d <= D); any N, Nq != Nk, causal or not.
#pragma once
#include "common.cuh"
#include "exp2_score.cuh"
#include "mma_f16.cuh"

namespace attn_tiled {

template <int D, int CFG = 0> struct Lse4Traits {
  static constexpr int MT = CFG == 0 ? 2 : 1;
  static constexpr int kWarps = 4, BQ = 16 * MT * kWarps, BK = 64, NT = 32 * kWarps, LD = D + kPad;
  static constexpr int kMinBlocks = MT == 2 ? 3 : D == 64 ? 4 : 3;
  static constexpr size_t qElems = (size_t)BQ * LD, kElems = (size_t)BK * LD;
  static constexpr size_t bytes = (qElems + 2 * kElems) * sizeof(uint16_t);  // sQ, sK[2]
  static_assert(kMinBlocks * (bytes + 1024) <= 228 * 1024, "lse v4: kMinBlocks blocks do not fit one SM");
};

// One interior key tile (every key visible to every row of the block) with scale > 0: the running (max, sum) of
// this thread's 2 MT rows updated from their C fragments s, bit-identical to the boundary path of lse_tiled_kernel4.
// No masks; the max over the raw scores, scaled once per row (rounding is monotone, so for scale > 0
// fl(max(S_raw) · scale) = max(fl(S_raw · scale)), and fmaxf, ignoring NaN, is exact in any order: a tree); every
// row's reductions side by side (independent chains for the scheduler). Each row's sum keeps the boundary path's
// order (keys ascending; 0 + p = p exactly).
template <int MT, int BK>
__device__ __forceinline__ void lse4_interior_tile(const float (&s)[MT][BK / 8][4], float scale, float (&mx)[MT][2],
                                                   float (&l)[MT][2]) {
  float mNew[MT][2];
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float v[BK / 8];
#pragma unroll
      for (int j = 0; j < BK / 8; ++j) v[j] = fmaxf(s[m][j][2 * h], s[m][j][2 * h + 1]);
#pragma unroll
      for (int w = BK / 16; w > 0; w /= 2)
#pragma unroll
        for (int j = 0; j < w; ++j) v[j] = fmaxf(v[j], v[j + w]);
      mNew[m][h] = v[0];
    }
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) mNew[m][h] = fmaxf(mx[m][h], __fmul_rn(group_max<4>(mNew[m][h]), scale));
  float mRef[MT][2], tsum[MT][2];
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) mRef[m][h] = mNew[m][h] == -INFINITY ? 0.f : mNew[m][h];
#pragma unroll
  for (int j = 0; j < BK / 8; ++j)
#pragma unroll
    for (int e = 0; e < 2; ++e)
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const float pe = exp2_score(s[m][j][2 * h + e], scale, mRef[m][h]);
          tsum[m][h] = j == 0 && e == 0 ? pe : tsum[m][h] + pe;
        }
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      l[m][h] = l[m][h] * exp2_ftz((mx[m][h] - mRef[m][h]) * kLog2e) + group_sum<4>(tsum[m][h]);
      mx[m][h] = mNew[m][h];
    }
}

template <int D, int CFG, bool BF16>
__global__ void __launch_bounds__(Lse4Traits<D, CFG>::NT, Lse4Traits<D, CFG>::kMinBlocks)
    lse_tiled_kernel4(AttnProblem p, const uint16_t *__restrict__ q, const uint16_t *__restrict__ k,
                      float *__restrict__ lse, float *__restrict__ lse_lo, bool vec) {
  using T = Lse4Traits<D, CFG>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT, LD = T::LD, MT = T::MT;
  extern __shared__ float smem[];
  uint16_t *sQ = reinterpret_cast<uint16_t *>(smem);
  uint16_t *sK = sQ + T::qElems;  // [2][BK][LD]

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;  // heavy (late, causal) tiles first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));
  const int nK = ceil_div(kEnd, BK);
  const int kFull = q0 + BQ <= p.nq ? key_end(p, q0 + 1) : 0;  // keys every row of the block sees

  load_tile_h<BQ, D, NT>(sQ, LD, q, q0, p.nq, p.d, vec);
  if (nK > 0) load_tile_h<BK, D, NT>(sK, LD, k, 0, p.nk, p.d, vec);
  cp_async_commit();

  // Rows of m-tile m, half h: q0 + (warp MT + m) 16 + g + 8h.
  const int row0 = warp * MT * 16;
  int rowEnd[MT][2];
  float mx[MT][2], l[MT][2];  // running max (natural units) and sum of exp(x - max) of those rows
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + row0 + 16 * m + g + 8 * h;
      rowEnd[m][h] = r < p.nq ? key_end(p, r + 1) : 0;
      mx[m][h] = -INFINITY;
      l[m][h] = 0.f;
    }

  uint32_t qa[MT == 1 ? D / 16 : 1][4];  // MT = 1: Q's A fragments, kept
  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK, buf = it % 2;
    cp_async_wait_all();
    __syncthreads();  // tile it (and Q, first time) ready; every warp is done with tile it - 1's buffer
    if constexpr (MT == 1)
      if (it == 0) ldsm_rows<D>(qa, sQ, LD, row0);
    if (it + 1 < nK) {
      load_tile_h<BK, D, NT>(sK + (1 - buf) * T::kElems, LD, k, k0 + BK, p.nk, p.d, vec);
      cp_async_commit();
    }

    float s[MT][BK / 8][4];
    if constexpr (MT == 1)
      warp_scores_h<D, BK, BF16>(s[0], qa, sK + buf * T::kElems, LD);
    else
      warp_scores_mt<D, BK, MT, BF16>(s, sQ, row0, sK + buf * T::kElems, LD);

    if (k0 + BK <= kFull && p.scale > 0.f) {
      lse4_interior_tile<MT, BK>(s, p.scale, mx, l);
      continue;
    }
    // boundary tile (or scale <= 0): as lse version 3, the max in natural units (fl(S_raw · scale)), exp2 only
    // inside, per-score masks
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float tmax = -INFINITY;
#pragma unroll
        for (int j = 0; j < BK / 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float x = __fmul_rn(s[m][j][2 * h + e], p.scale);
            tmax = fmaxf(tmax, k0 + j * 8 + 2 * t + e < rowEnd[m][h] ? x : -INFINITY);
          }
        const float mNew = fmaxf(mx[m][h], group_max<4>(tmax));
        const float mRef = mNew == -INFINITY ? 0.f : mNew;  // finite reference: never -inf - -inf
        float tsum = 0.f;
#pragma unroll
        for (int j = 0; j < BK / 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float pe = exp2_score(s[m][j][2 * h + e], p.scale, mRef);
            tsum += k0 + j * 8 + 2 * t + e < rowEnd[m][h] ? pe : 0.f;
          }
        l[m][h] = l[m][h] * exp2_ftz((mx[m][h] - mRef) * kLog2e) + group_sum<4>(tsum);
        mx[m][h] = mNew;
      }
  }
  cp_async_wait_all();  // nK = 0: the Q copy is still in flight

  if (t == 0) {
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = q0 + row0 + 16 * m + g + 8 * h;
        if (r < p.nq) lse_pair(mx[m][h], logf(l[m][h]), lse[(size_t)b * p.nq + r], lse_lo[(size_t)b * p.nq + r]);
      }
  }
}

}  // namespace attn_tiled
