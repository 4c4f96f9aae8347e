// tiled/mma_tf32.cuh — one warp-wide mma.sync m16n8k8 (TF32 in, fp32 accumulate) and the 3xTF32 split that gives
// float32-level products on tensor cores: x = hi + lo with hi = tf32(x), lo = tf32(x - hi), and
// a·b ≈ a_hi·b_hi + a_hi·b_lo + a_lo·b_hi (the dropped a_lo·b_lo is ~2^-22 relative).
//
// Fragment layout (PTX ISA, m16n8k8 .tf32; g = lane / 4, t = lane % 4):
//   A 16x8 row-major: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)
//   B 8x8 (k x n):    b0 (k=t, n=g), b1 (k=t+4, n=g)
//   C 16x8:           c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
// Outside nvcc's device pass (the CPU emulation in tiled/emu) the same functions come from the emulation shim.
#pragma once
#include <cstdint>

namespace attn_tiled {

#if defined(__CUDA_ARCH__)
__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

__device__ __forceinline__ void mma_tf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// d = a · b (C = 0 given as a constant operand, so ptxas can feed RZ instead of zeroed registers).
__device__ __forceinline__ void mma_tf32_c0(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(0.f));
}
#elif defined(ATTN_TILED_EMU)
uint32_t to_tf32(float x);
void mma_tf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
inline void mma_tf32_c0(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  d[0] = d[1] = d[2] = d[3] = 0.f;
  mma_tf32(d, a, b);
}
#else
// nvcc's host pass: never called on the host.
inline uint32_t to_tf32(float) { return 0; }
inline void mma_tf32(float (&)[4], const uint32_t (&)[4], const uint32_t (&)[2]) {}
inline void mma_tf32_c0(float (&)[4], const uint32_t (&)[4], const uint32_t (&)[2]) {}
#endif

__device__ __forceinline__ float tf32_value(uint32_t bits) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
#endif
}

// x -> (hi, lo) for the 3xTF32 product.
__device__ __forceinline__ void split_tf32(float x, uint32_t &hi, uint32_t &lo) {
  hi = to_tf32(x);
  lo = to_tf32(x - tf32_value(hi));
}

// c += a · b in three TF32 products (small terms first), as a short chain: the three mmas start from C = 0 and
// the 16x8 result is added to c with ordinary round-to-nearest FADDs. Why: the tensor core aligns the 9 terms of
// each mma to the largest and truncates (round toward zero), so a long chain through C drifts toward zero by a
// fraction of an ulp per mma (measured on the H100: O rel L2 2.9e-5 at N = 4096 with one chain over all keys).
// A short chain's truncation is relative to an 8-term partial, and the RN adds across chains are unbiased.
__device__ __forceinline__ void mma_3xtf32(float (&c)[4], const uint32_t (&ahi)[4], const uint32_t (&alo)[4],
                                           const uint32_t (&bhi)[2], const uint32_t (&blo)[2]) {
  float t[4];
  mma_tf32_c0(t, alo, bhi);
  mma_tf32(t, ahi, blo);
  mma_tf32(t, ahi, bhi);
#pragma unroll
  for (int e = 0; e < 4; ++e) c[e] += t[e];
}

// The same for the backward's transposed score products (A holds K or V, B holds Q or dO), the three products in the
// order mma_3xtf32 issues them for S = Q Kᵀ and dP = dO Vᵀ (q_lo·k_hi first = here a_hi·b_lo): an mma sums the same
// products to the same value whichever operand holds which, so Sᵀ is S transposed bit for bit.
__device__ __forceinline__ void mma_3xtf32_t(float (&c)[4], const uint32_t (&ahi)[4], const uint32_t (&alo)[4],
                                             const uint32_t (&bhi)[2], const uint32_t (&blo)[2]) {
  float t[4];
  mma_tf32_c0(t, ahi, blo);
  mma_tf32(t, alo, bhi);
  mma_tf32(t, ahi, bhi);
#pragma unroll
  for (int e = 0; e < 4; ++e) c[e] += t[e];
}

// A fragment (16x8 at rows row0.., cols k0..) from row-major shared memory, split.
__device__ __forceinline__ void load_a_3x(const float *s, int ld, int row0, int k0, uint32_t (&hi)[4],
                                          uint32_t (&lo)[4]) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  split_tf32(s[(row0 + g) * ld + k0 + t], hi[0], lo[0]);
  split_tf32(s[(row0 + g + 8) * ld + k0 + t], hi[1], lo[1]);
  split_tf32(s[(row0 + g) * ld + k0 + t + 4], hi[2], lo[2]);
  split_tf32(s[(row0 + g + 8) * ld + k0 + t + 4], hi[3], lo[3]);
}

// B fragment (8x8, k0.. x n0..) where shared memory holds Bᵀ row-major: s[n * ld + k] (K for S = Q Kᵀ).
__device__ __forceinline__ void load_b_nk_3x(const float *s, int ld, int k0, int n0, uint32_t (&hi)[2],
                                             uint32_t (&lo)[2]) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  split_tf32(s[(n0 + g) * ld + k0 + t], hi[0], lo[0]);
  split_tf32(s[(n0 + g) * ld + k0 + t + 4], hi[1], lo[1]);
}

// B fragment (8x8, k0.. x n0..) where shared memory holds B row-major: s[k * ld + n] (V for O = P V).
__device__ __forceinline__ void load_b_kn_3x(const float *s, int ld, int k0, int n0, uint32_t (&hi)[2],
                                             uint32_t (&lo)[2]) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  split_tf32(s[(k0 + t) * ld + n0 + g], hi[0], lo[0]);
  split_tf32(s[(k0 + t + 4) * ld + n0 + g], hi[1], lo[1]);
}

// S (16 x BK, C fragments s[j] for columns j*8..j*8+7) = rows w0..w0+15 of sQ times rows 0..BK-1 of sK, over
// D columns: the score tile of one warp, for the lse and forward kernels. TRANSPOSED: sQ holds K (or V) and sK holds
// Q (or dO), for the backward's Sᵀ and dPᵀ, with the products in S's order (mma_3xtf32_t).
template <int D, int BK, bool TRANSPOSED = false>
__device__ __forceinline__ void warp_scores(float (&s)[BK / 8][4], const float *sQ, int ldq, const float *sK, int ldk,
                                            int w0) {
#pragma unroll
  for (int j = 0; j < BK / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) s[j][e] = 0.f;
#pragma unroll 2
  for (int kk = 0; kk < D; kk += 8) {
    uint32_t ahi[4], alo[4];
    load_a_3x(sQ, ldq, w0, kk, ahi, alo);
#pragma unroll
    for (int j = 0; j < BK / 8; ++j) {
      uint32_t bhi[2], blo[2];
      load_b_nk_3x(sK, ldk, kk, j * 8, bhi, blo);
      if constexpr (TRANSPOSED)
        mma_3xtf32_t(s[j], ahi, alo, bhi, blo);
      else
        mma_3xtf32(s[j], ahi, alo, bhi, blo);
    }
  }
}

// acc (16 x N, C fragments acc[n] for columns n*8..n*8+7) += rows w0..w0+15 of sA (K columns) times sB (K x N,
// row-major: s[k * ldb + n]): P V in the forward, Pᵀ dO / dSᵀ Q / dS K in the backward.
template <int K, int N, int UNROLL = 2>
__device__ __forceinline__ void warp_acc_kn(float (&acc)[N / 8][4], const float *sA, int lda, int w0, const float *sB,
                                            int ldb) {
#pragma unroll UNROLL
  for (int kk = 0; kk < K; kk += 8) {
    uint32_t ahi[4], alo[4];
    load_a_3x(sA, lda, w0, kk, ahi, alo);
#pragma unroll
    for (int n = 0; n < N / 8; ++n) {
      uint32_t bhi[2], blo[2];
      load_b_kn_3x(sB, ldb, kk, n * 8, bhi, blo);
      mma_3xtf32(acc[n], ahi, alo, bhi, blo);
    }
  }
}

}  // namespace attn_tiled
