// tiled/mma_tf32_split.cuh — 3xTF32 operands split ONCE into (hi, lo) pairs in shared memory, so warps load
// ready-made fragments (one 64-bit LDS per element, no cvt/FADD in the inner loop). Layout: uint2 {hi, lo} per
// element, row stride ld = cols + 4 (in uint2): for both the Bᵀ (K) and B (V) fragment patterns, each half-warp's
// 16 64-bit loads hit 16 distinct 8-byte bank pairs ((4g + t) or (4t + g) mod 16).
#pragma once
#include "mma_tf32.cuh"

namespace attn_tiled {

// s2[r * ld + c] = split(s[r * C + c]) for r < R, c < C (s dense fp32, stride C).
template <int R, int C, int NT>
__device__ __forceinline__ void split_tile(uint2 *s2, int ld, const float *s) {
  for (int idx = threadIdx.x; idx < R * C; idx += NT) {
    uint32_t hi, lo;
    split_tf32(s[idx], hi, lo);
    s2[(idx / C) * ld + idx % C] = make_uint2(hi, lo);
  }
}

// B fragment (k0.. x n0..) from split Bᵀ (s2[n * ld + k]): K for S = Q Kᵀ.
__device__ __forceinline__ void load_b_nk_pair(const uint2 *s2, int ld, int k0, int n0, uint32_t (&hi)[2],
                                               uint32_t (&lo)[2]) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const uint2 x0 = s2[(n0 + g) * ld + k0 + t], x1 = s2[(n0 + g) * ld + k0 + t + 4];
  hi[0] = x0.x, lo[0] = x0.y, hi[1] = x1.x, lo[1] = x1.y;
}

// B fragment (k0.. x n0..) from split B (s2[k * ld + n]): V for O = P V.
__device__ __forceinline__ void load_b_kn_pair(const uint2 *s2, int ld, int k0, int n0, uint32_t (&hi)[2],
                                               uint32_t (&lo)[2]) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const uint2 x0 = s2[(k0 + t) * ld + n0 + g], x1 = s2[(k0 + t + 4) * ld + n0 + g];
  hi[0] = x0.x, lo[0] = x0.y, hi[1] = x1.x, lo[1] = x1.y;
}

// s (16 x N: C fragments for columns n0 + j*8) = rows w0.. of sA (fp32, split here, once per 8 columns of K)
// times rows n0 .. n0+N-1 of split sB2 (Bᵀ layout), over K columns.
template <int K, int N, int UNROLL = 2>
__device__ __forceinline__ void warp_scores_split(float (&s)[N / 8][4], const float *sA, int lda, int w0,
                                                  const uint2 *sB2, int ldb, int n0) {
#pragma unroll
  for (int j = 0; j < N / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) s[j][e] = 0.f;
#pragma unroll UNROLL
  for (int kk = 0; kk < K; kk += 8) {
    uint32_t ahi[4], alo[4];
    load_a_3x(sA, lda, w0, kk, ahi, alo);
#pragma unroll
    for (int j = 0; j < N / 8; ++j) {
      uint32_t bhi[2], blo[2];
      load_b_nk_pair(sB2, ldb, kk, n0 + j * 8, bhi, blo);
      mma_3xtf32(s[j], ahi, alo, bhi, blo);
    }
  }
}

// acc (16 x N: columns n0 + n*8) += rows w0.. of sA (fp32, K columns) times split sB2 (K x .., B layout).
template <int K, int N, int UNROLL = 2>
__device__ __forceinline__ void warp_acc_kn_split(float (&acc)[N / 8][4], const float *sA, int lda, int w0,
                                                  const uint2 *sB2, int ldb, int n0) {
#pragma unroll UNROLL
  for (int kk = 0; kk < K; kk += 8) {
    uint32_t ahi[4], alo[4];
    load_a_3x(sA, lda, w0, kk, ahi, alo);
#pragma unroll
    for (int n = 0; n < N / 8; ++n) {
      uint32_t bhi[2], blo[2];
      load_b_kn_pair(sB2, ldb, kk, n0 + n * 8, bhi, blo);
      mma_3xtf32(acc[n], ahi, alo, bhi, blo);
    }
  }
}

}  // namespace attn_tiled
