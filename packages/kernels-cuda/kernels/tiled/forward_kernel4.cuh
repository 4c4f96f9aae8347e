// tiled/forward_kernel4.cuh — stage 2, version 4: O = exp(S - lse) V on tensor cores (3xTF32, float32-level) with
// every operand pre-split in fragment order (tiled/tf32_frags.cuh) and P kept in registers.
//
// Why (ncu, H100, N=4096 d=64, v3): 12 instructions per mma and the issue slots 63 % busy: splitting on fragment
// load, P through shared memory, 4 FADDs per 3 mmas and a mask test per score left the tensor pipe a third used.
// Here the inner loop is one LDS.128 + 3 mma per B fragment; A fragments (Q) are two LDS.128 per 8 columns of d.
//
// One block of W warps per (bh, BQ = 16 MT W query rows); warp w owns MT m-tiles of 16 rows for the whole kernel:
//   once:     Q rows -> ASplit in shared memory (hi and lo planes).
//   per key tile of BK rows: the tile was fetched into registers during the previous tile (fetch_b_*); barrier;
//             split into sK (BSplitNK) and sV (BSplitKN); barrier; fetch the next tile; then per warp
//             S = Q Kᵀ (one mma chain per score over d), P = exp2((S·scale - lse)·log2e - lse_lo·log2e) (two fmaf;
//             lse_pair.cuh; masks only on tiles that straddle the causal diagonal or the end of the keys), P's C
//             fragments become A fragments in
//             place, O += P V as one chain per 8 output columns over the tile, added to O with RN FADDs.
// Limits: D in {64, 128} (d, dv <= D); any N, Nq != Nk, causal or not.
#pragma once
#include "common.cuh"
#include "tf32_frags.cuh"

namespace attn_tiled {

// Two shapes per bucket (CFG, the variant knob shape=0|1; 0 = the faster on the H100, NOTES.md). MT = 16-row m-tiles per
// warp: with 2, every B fragment loaded feeds two independent mma chains (half the shared loads per mma, twice the
// work in flight per warp): D = 64 1.26× faster; at D = 128 its 128 accumulator registers spilled (W = 4, BK = 16:
// 1.9× slower), so D = 128's shape 1 is 4 warps x 64 rows (half the rows of shape 0: for grids that leave SMs idle).
// kPrefetch: the next K/V tile is fetched into registers during this one (H100: without it, 4–30 % slower).
template <int D, int CFG> struct Fwd4Shape;
template <> struct Fwd4Shape<64, 0> { static constexpr int kWarps = 4, MT = 2, BK = 32, kMinBlocks = 2; static constexpr bool kPrefetch = true; };
template <> struct Fwd4Shape<64, 1> { static constexpr int kWarps = 4, MT = 1, BK = 32, kMinBlocks = 2; static constexpr bool kPrefetch = true; };
template <> struct Fwd4Shape<128, 0> { static constexpr int kWarps = 8, MT = 1, BK = 32, kMinBlocks = 1; static constexpr bool kPrefetch = true; };
template <> struct Fwd4Shape<128, 1> { static constexpr int kWarps = 4, MT = 1, BK = 32, kMinBlocks = 1; static constexpr bool kPrefetch = true; };

template <int D, int CFG = 0> struct Fwd4Traits {
  using S = Fwd4Shape<D, CFG>;
  static constexpr int kWarps = S::kWarps, MT = S::MT, BK = S::BK, kMinBlocks = S::kMinBlocks;
  static constexpr bool kPrefetch = S::kPrefetch;
  static constexpr int NT = 32 * kWarps, BQ = 16 * MT * kWarps;
  static constexpr int qSlots = ASplit<BQ, D>::kSlots, kvSlots = BSlots<BK, D, NT>::kSlots;
  static constexpr size_t bytes = (2 * (size_t)qSlots + 2 * (size_t)kvSlots) * sizeof(uint4);  // sQ hi/lo, sK, sV
  static_assert(bytes <= 227 * 1024, "forward v4 tile too large");
  static_assert(kMinBlocks * (bytes + 1024) <= 228 * 1024, "forward v4: kMinBlocks blocks do not fit one SM");
};

template <int D, int CFG, bool LONG>
__global__ void __launch_bounds__(Fwd4Traits<D, CFG>::NT, Fwd4Traits<D, CFG>::kMinBlocks)
    forward_tiled_kernel4(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                          const float *__restrict__ v, const float *__restrict__ lse,
                          const float *__restrict__ lse_lo, float *__restrict__ o) {
  using T = Fwd4Traits<D, CFG>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT, KD = D / 8, MT = T::MT;
  constexpr int kScoreUnroll = LONG ? 4 : 1;  // short chains keep a temporary per score: unroll 2+ spilled
  constexpr int KV = BSlots<BK, D, NT>::kPerThread;
  extern __shared__ float smem[];
  uint4 *sQhi = reinterpret_cast<uint4 *>(smem);
  uint4 *sQlo = sQhi + T::qSlots;
  uint4 *sK = sQlo + T::qSlots;
  uint4 *sV = sK + T::kvSlots;

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
  // Keys [0, kFull) are seen by every row of the block (then every row's lse is finite): no masks there.
  const int kFull = q0 + BQ <= p.nq ? key_end(p, q0 + 1) : 0;

  float kx[KV][2], vx[KV][2];
  if (T::kPrefetch && nK > 0) {
    fetch_b_nk<BK, D, NT>(kx, k, 0, p.nk, p.d);
    fetch_b_kn<BK, D, NT>(vx, v, 0, p.nk, p.dv);
  }
  store_a_split<BQ, D, NT>(sQhi, sQlo, q, q0, p.nq, p.d);

  // Rows of m-tile m, half h: q0 + (warp * MT + m) * 16 + g + 8h.
  float hi[MT][2], lo2[MT][2];  // the lse pair of those rows: hi and lo · log2e
  int rowEnd[MT][2];            // exclusive end of the keys each row sees (0 for rows past nq or with lse = -inf)
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + (warp * MT + m) * 16 + g + 8 * h;
      hi[m][h] = r < p.nq ? lse[r] : -INFINITY;
      lo2[m][h] = r < p.nq ? lse_lo[r] * kLog2e : 0.f;
      rowEnd[m][h] = hi[m][h] == -INFINITY ? 0 : key_end(p, r + 1);
    }

  float acc[MT][KD][4];
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int n = 0; n < KD; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][n][e] = 0.f;

  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK;
    __syncthreads();  // every warp is done with the previous tile's sK / sV
    if (!T::kPrefetch) {
      fetch_b_nk<BK, D, NT>(kx, k, k0, p.nk, p.d);
      fetch_b_kn<BK, D, NT>(vx, v, k0, p.nk, p.dv);
    }
    store_b_split<BK, D, NT>(sK, kx);
    store_b_split<BK, D, NT>(sV, vx);
    __syncthreads();  // sK, sV (and sQ, first time) ready
    if (T::kPrefetch && it + 1 < nK) {
      fetch_b_nk<BK, D, NT>(kx, k, k0 + BK, p.nk, p.d);
      fetch_b_kn<BK, D, NT>(vx, v, k0 + BK, p.nk, p.dv);
    }

    // S = Q Kᵀ for this warp's rows: s[m][j] holds m-tile m, keys k0 + 8j ..
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

    // P = exp2((S · scale - hi) · log2e - lo · log2e), 0 where a row does not see the key
    if (k0 + BK <= kFull) {
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int j = 0; j < BK / 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) s[m][j][e] = exp2_score(s[m][j][e], p.scale, hi[m][e / 2], lo2[m][e / 2]);
    } else {
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int j = 0; j < BK / 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = k0 + j * 8 + 2 * t + (e & 1);
            const float pe = exp2_score(s[m][j][e], p.scale, hi[m][e / 2], lo2[m][e / 2]);
            s[m][j][e] = key < rowEnd[m][e / 2] ? pe : 0.f;
          }
    }

    uint32_t ph[MT][BK / 8][4], pl[MT][BK / 8][4];
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
      for (int j = 0; j < BK / 8; ++j) c_to_a_split(s[m][j], ph[m][j], pl[m][j]);

    // O += P V: one chain per (m-tile, 8 output columns) over the tile's keys, then an RN add
#pragma unroll
    for (int n = 0; n < KD; ++n) {
      float part[MT][4];
      const uint4 b0 = sV[n * 32 + lane];
#pragma unroll
      for (int m = 0; m < MT; ++m) mma3_c0(part[m], ph[m][0], pl[m][0], b0);
#pragma unroll
      for (int ks = 1; ks < BK / 8; ++ks) {
        const uint4 bv = sV[(ks * KD + n) * 32 + lane];
#pragma unroll
        for (int m = 0; m < MT; ++m) mma3(part[m], ph[m][ks], pl[m][ks], bv);
      }
#pragma unroll
      for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[m][n][e] += part[m][e];
    }
  }

#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = q0 + (warp * MT + m) * 16 + g + 8 * h;
      if (r >= p.nq) continue;
#pragma unroll
      for (int n = 0; n < KD; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = n * 8 + 2 * t + e;
          if (c < p.dv) o[(size_t)r * p.dv + c] = acc[m][n][2 * h + e];
        }
    }
}

}  // namespace attn_tiled
