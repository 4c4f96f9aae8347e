// tiled/lse_kernel3.cuh — stage 1, version 3: lse_i = log sum_j exp(scale · q_i · k_j), scores on tensor cores
// (3xTF32) from pre-split fragment-order operands (tiled/tf32_frags.cuh), as forward v4 without the P V product.
//
// Why (ncu, H100, N=4096 d=64, v2): 17 instructions per mma (splits on every fragment load, 4 FADDs per 3 mmas, a
// mask test per score) and a 1.29-wave grid. Here: Q split once per block into shared memory, each key tile
// fetched into registers during the previous tile and split once per block, one mma chain per score over d, masks
// only on tiles that straddle the causal diagonal or the end of the keys. The lse pair (lse_pair.cuh): m = the max of
// fl(S_raw·scale), l += exp2((S_raw·scale - m)·log2e) with S_raw·scale - m one fmaf, written as lse (hi) and lse_lo.
// One block of W warps per (bh, BQ = 16 MT W query rows); warp w owns MT m-tiles of 16 rows. A row's running (max, sum)
// lives in the 4 lanes that hold its C fragments: a 4-lane butterfly per tile, as in v2. Rows that see no
// key get (-inf, 0) exactly; every exp2 argument is finite or a masked term is dropped by a select.
// Limits: D in {64, 128} (d <= D); any N, Nq != Nk, causal or not.
#pragma once
#include "common.cuh"
#include "tf32_frags.cuh"

namespace attn_tiled {

// Two shapes per bucket (CFG, the variant knob shape=0|1; 0 = the faster on the H100, NOTES.md), as forward v4: MT m-tiles
// of 16 rows per warp (2: 1.49× faster at D = 64, 1.18× at D = 128), kPrefetch = the next key tile fetched into
// registers during this one.
template <int D, int CFG> struct Lse3Shape;
template <> struct Lse3Shape<64, 0> { static constexpr int kWarps = 4, MT = 2, BK = 64, kMinBlocks = 2; static constexpr bool kPrefetch = true; };
template <> struct Lse3Shape<64, 1> { static constexpr int kWarps = 4, MT = 1, BK = 64, kMinBlocks = 2; static constexpr bool kPrefetch = true; };
template <> struct Lse3Shape<128, 0> { static constexpr int kWarps = 4, MT = 2, BK = 32, kMinBlocks = 1; static constexpr bool kPrefetch = true; };
template <> struct Lse3Shape<128, 1> { static constexpr int kWarps = 4, MT = 1, BK = 32, kMinBlocks = 2; static constexpr bool kPrefetch = true; };

template <int D, int CFG = 0> struct Lse3Traits {
  using S = Lse3Shape<D, CFG>;
  static constexpr int kWarps = S::kWarps, MT = S::MT, BK = S::BK, kMinBlocks = S::kMinBlocks;
  static constexpr bool kPrefetch = S::kPrefetch;
  static constexpr int NT = 32 * kWarps, BQ = 16 * MT * kWarps;
  static constexpr int qSlots = ASplit<BQ, D>::kSlots, kSlots = BSlots<BK, D, NT>::kSlots;
  static constexpr size_t bytes = (2 * (size_t)qSlots + (size_t)kSlots) * sizeof(uint4);  // sQ hi/lo, sK
  static_assert(bytes <= 227 * 1024, "lse v3 tile too large");
  static_assert(kMinBlocks * (bytes + 1024) <= 228 * 1024, "lse v3: kMinBlocks blocks do not fit one SM");
};

template <int D, int CFG, bool LONG>
__global__ void __launch_bounds__(Lse3Traits<D, CFG>::NT, Lse3Traits<D, CFG>::kMinBlocks)
    lse_tiled_kernel3(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                      float *__restrict__ lse, float *__restrict__ lse_lo) {
  using T = Lse3Traits<D, CFG>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT, KD = D / 8, MT = T::MT;
  constexpr int kScoreUnroll = LONG ? 4 : 1;  // short chains keep a temporary per score: unroll 2+ spilled
  constexpr int KX = BSlots<BK, D, NT>::kPerThread;
  extern __shared__ float smem[];
  uint4 *sQhi = reinterpret_cast<uint4 *>(smem);
  uint4 *sQlo = sQhi + T::qSlots;
  uint4 *sK = sQlo + T::qSlots;

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;  // heavy (late, causal) tiles first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));
  const int nK = ceil_div(kEnd, BK);
  const int kFull = q0 + BQ <= p.nq ? key_end(p, q0 + 1) : 0;  // keys every row of the block sees

  float kx[KX][2];
  if (T::kPrefetch && nK > 0) fetch_b_nk<BK, D, NT>(kx, k, 0, p.nk, p.d);
  store_a_split<BQ, D, NT>(sQhi, sQlo, q, q0, p.nq, p.d);

  // Rows of m-tile m, half h: q0 + (warp * MT + m) * 16 + g + 8h.
  int rowEnd[MT][2];
  float mx[MT][2], l[MT][2];  // running max (natural units) and sum of exp(x - max) of those rows
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + (warp * MT + m) * 16 + g + 8 * h;
      rowEnd[m][h] = r < p.nq ? key_end(p, r + 1) : 0;
      mx[m][h] = -INFINITY;
      l[m][h] = 0.f;
    }

  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK;
    __syncthreads();  // every warp is done with the previous tile's sK
    if (!T::kPrefetch) fetch_b_nk<BK, D, NT>(kx, k, k0, p.nk, p.d);
    store_b_split<BK, D, NT>(sK, kx);
    __syncthreads();  // sK (and sQ, first time) ready
    if (T::kPrefetch && it + 1 < nK) fetch_b_nk<BK, D, NT>(kx, k, k0 + BK, p.nk, p.d);

    float s[MT][BK / 8][4];
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int j = 0; j < BK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[m][j][e] = 0.f;
#pragma unroll kScoreUnroll
    for (int ks = 0; ks < KD; ++ks) {
      uint32_t ah[MT][4], al[MT][4];
#pragma unroll
      for (int m = 0; m < MT; ++m) load_a_frag(sQhi, sQlo, ((warp * MT + m) * KD + ks) * 32 + lane, ah[m], al[m]);
#pragma unroll
      for (int j = 0; j < BK / 8; ++j) {
        const uint4 bk = sK[(j * KD + ks) * 32 + lane];
#pragma unroll
        for (int m = 0; m < MT; ++m) mma3_score<LONG>(s[m][j], ah[m], al[m], bk);
      }
    }

    // Natural units for the max (fl(S_raw · scale), as the reference's row max) so that lse = max + log(sum) is
    // formed like the float64 reference; exp2 only inside: exp(x - m) = exp2((S_raw·scale - m) · log2e), where
    // S_raw·scale - m (one fmaf, as stages 2 and 3 form S_raw·scale - lse) is exact for the largest scores.
    // (Base-2 bookkeeping throughout cost 1–2 ulp of lse: on the H100 it failed the FlashAttention rule, lse maxAbs
    // 1.25e-6 vs naive 1.4e-7, at d = 128 causal: reports/h100/2026-11-25-v4/versions/final2.json.)
    // Tiles every row of the block sees in full take the unmasked loops (no compare or select per score).
    const bool full = k0 + BK <= kFull;
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float tmax = -INFINITY;
        if (full) {
#pragma unroll
          for (int j = 0; j < BK / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) tmax = fmaxf(tmax, __fmul_rn(s[m][j][2 * h + e], p.scale));
        } else {
#pragma unroll
          for (int j = 0; j < BK / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const float x = __fmul_rn(s[m][j][2 * h + e], p.scale);
              tmax = fmaxf(tmax, k0 + j * 8 + 2 * t + e < rowEnd[m][h] ? x : -INFINITY);
            }
        }
        const float mNew = fmaxf(mx[m][h], group_max<4>(tmax));
        const float mRef = mNew == -INFINITY ? 0.f : mNew;  // finite reference: never -inf - -inf
        float tsum = 0.f;
        if (full) {
#pragma unroll
          for (int j = 0; j < BK / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) tsum += exp2_score(s[m][j][2 * h + e], p.scale, mRef);
        } else {
#pragma unroll
          for (int j = 0; j < BK / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const float pe = exp2_score(s[m][j][2 * h + e], p.scale, mRef);
              tsum += k0 + j * 8 + 2 * t + e < rowEnd[m][h] ? pe : 0.f;
            }
        }
        l[m][h] = l[m][h] * exp2_ftz((mx[m][h] - mRef) * kLog2e) + group_sum<4>(tsum);
        mx[m][h] = mNew;
      }
  }

  if (t == 0) {
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = q0 + (warp * MT + m) * 16 + g + 8 * h;
        if (r < p.nq) lse_pair(mx[m][h], logf(l[m][h]), lse[(size_t)b * p.nq + r], lse_lo[(size_t)b * p.nq + r]);
      }
  }
}

}  // namespace attn_tiled
