// tiled/mma_f16.cuh — the half-precision tensor-core pieces of the tiled half kernels (lse4, fwd5, bwd4):
// mma.sync m16n8k16 with float16 or bfloat16 operands and float32 accumulation, ldmatrix (plain and transposed) from
// padded row-major shared tiles, conversions that round to nearest even, and the cp.async tile load.
//
// Storage: a half tensor is handled as its 16-bit patterns (uint16_t); the storage type T (__half or __nv_bfloat16)
// only picks the mma's operand type and the float -> half conversion, so loads are plain byte copies.
//
// Fragment layout (PTX ISA, m16n8k16 .f16/.bf16; g = lane / 4, t = lane % 4; a register holds two halves, the lower
// column in the low 16 bits):
//   A 16x16 row-major: a0 (g, 2t..2t+1), a1 (g+8, 2t..), a2 (g, 2t+8..), a3 (g+8, 2t+8..)
//   B 16x8 (k x n):    b0 (k = 2t..2t+1, n = g), b1 (k = 2t+8.., n = g)
//   C 16x8 (float):    c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
// So the C fragments of two adjacent 8-column tiles, packed to halves, are the A fragment of one 16-wide k step
// (a_frag_from_c): P and dS never leave the registers between their two products.
//
// Shared tiles: [rows][D + kPad] halves, kPad = 8, so the 8 row addresses of one ldmatrix phase (a row stride of
// 2D + 16 bytes) fall in 8 different 16-byte bank groups.
// Outside nvcc's device pass (the CPU emulation in tiled/emu) the warp-wide operations come from the emulator.
#pragma once
#include <cstdint>
#include <type_traits>
#include "cp_async.cuh"

namespace attn_tiled {

constexpr int kPad = 8;

// Whether a pointer allows 16-byte copies (with a row length % 8 == 0, every row of the tensor then does too).
inline bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }


#if defined(__CUDA_ARCH__)
template <bool BF16>
__device__ __forceinline__ void mma_h(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  if constexpr (BF16)
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Four 8x8 matrices: lane l gives the address of row l % 8 of matrix l / 8 and gets its fragment of each.
__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void *row) {
  const unsigned a = (unsigned)__cvta_generic_to_shared(row);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], const void *row) {
  const unsigned a = (unsigned)__cvta_generic_to_shared(row);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// Two floats -> two halves (round to nearest even), x in the low 16 bits.
template <bool BF16>
__device__ __forceinline__ uint32_t pack_h(float x, float y) {
  uint32_t r;
  if constexpr (BF16)
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(y), "f"(x));
  else
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(y), "f"(x));
  return r;
}
#elif defined(ATTN_TILED_EMU)
template <bool BF16> void mma_h(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
void ldsm_x4(uint32_t (&r)[4], const void *row);
void ldsm_x4_t(uint32_t (&r)[4], const void *row);
template <bool BF16> uint32_t pack_h(float x, float y);
#else
// nvcc's host pass: never called on the host.
template <bool BF16> inline void mma_h(float (&)[4], const uint32_t (&)[4], const uint32_t (&)[2]) {}
inline void ldsm_x4(uint32_t (&)[4], const void *) {}
inline void ldsm_x4_t(uint32_t (&)[4], const void *) {}
template <bool BF16> inline uint32_t pack_h(float, float) { return 0; }
#endif

// c = 0 first, then c += a · b.
template <bool BF16>
__device__ __forceinline__ void mma_h_c0(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  c[0] = c[1] = c[2] = c[3] = 0.f;
  mma_h<BF16>(c, a, b);
}

// A fragment of rows row0..row0+15, columns k0..k0+15 of a padded tile s (stride ld halves).
__device__ __forceinline__ void ldsm_a(uint32_t (&a)[4], const uint16_t *s, int ld, int row0, int k0) {
  const int lane = threadIdx.x % 32;
  ldsm_x4(a, s + (row0 + lane % 16) * ld + k0 + lane / 16 * 8);
}

// B fragments of S = X Yᵀ for two 8-column n-tiles: s holds Y row-major ([n][k]); b[0..1] = n-tile n0, b[2..3] =
// n-tile n0 + 8, both over k0..k0+15.
__device__ __forceinline__ void ldsm_b_nk(uint32_t (&b)[4], const uint16_t *s, int ld, int n0, int k0) {
  const int lane = threadIdx.x % 32;
  ldsm_x4(b, s + (n0 + lane % 8 + lane / 16 * 8) * ld + k0 + (lane / 8) % 2 * 8);
}

// B fragments of O = P Y for two 8-column n-tiles: s holds Y row-major ([k][n]); b[0..1] = columns n0.., b[2..3] =
// columns n0 + 8.., both over k0..k0+15 (ldmatrix .trans).
__device__ __forceinline__ void ldsm_b_kn(uint32_t (&b)[4], const uint16_t *s, int ld, int k0, int n0) {
  const int lane = threadIdx.x % 32;
  ldsm_x4_t(b, s + (k0 + lane % 8 + (lane / 8) % 2 * 8) * ld + n0 + lane / 16 * 8);
}

// The A fragment of k step kk from the float C fragments of n-tiles 2kk and 2kk+1, rounded to halves.
template <bool BF16>
__device__ __forceinline__ void a_frag_from_c(uint32_t (&a)[4], const float (&c0)[4], const float (&c1)[4]) {
  a[0] = pack_h<BF16>(c0[0], c0[1]);
  a[1] = pack_h<BF16>(c0[2], c0[3]);
  a[2] = pack_h<BF16>(c1[0], c1[1]);
  a[3] = pack_h<BF16>(c1[2], c1[3]);
}

// Starts copying rows row0 .. row0+R-1 (C columns) of g [nrows][gcols] (16-bit elements) into s [R][ld], zeros past
// nrows / gcols. vec: 16-byte cp.async copies (gcols % 8 == 0 and g 16-byte aligned); else 2-byte loads and stores.
template <int R, int C, int NT>
__device__ __forceinline__ void load_tile_h(uint16_t *s, int ld, const uint16_t *__restrict__ g, int row0, int nrows,
                                            int gcols, bool vec) {
  static_assert(C % 8 == 0, "C must be a multiple of 8");
  constexpr int kChunks = C / 8;  // 16-byte chunks per row
  if constexpr ((R * kChunks) % NT == 0 && NT % kChunks == 0) {
    if (vec) {
      // The loop below with its trip count known (blockDim.x = NT): thread x copies chunk x % kChunks of rows
      // x / kChunks + i NT / kChunks, the same copies, with the offsets stepped instead of divided per chunk.
      const int c = threadIdx.x % kChunks * 8, r0 = threadIdx.x / kChunks;
      const bool colIn = c < gcols;
      const size_t step = (size_t)(NT / kChunks) * gcols;
      size_t off = (size_t)(row0 + r0) * gcols + c;
#pragma unroll
      for (int i = 0; i < R * kChunks / NT; ++i, off += step) {
        const int r = r0 + i * (NT / kChunks);
        const int bytes = row0 + r < nrows && colIn ? 16 : 0;
        cp_async16(s + r * ld + c, bytes ? g + off : g, bytes);
      }
      return;
    }
  }
  if (vec) {
    for (int idx = threadIdx.x; idx < R * C / 8; idx += NT) {
      const int r = idx / (C / 8), c = idx % (C / 8) * 8, gr = row0 + r;
      const int bytes = gr < nrows && c < gcols ? 16 : 0;
      cp_async16(s + r * ld + c, bytes ? g + (size_t)gr * gcols + c : g, bytes);
    }
  } else {
    for (int idx = threadIdx.x; idx < R * C; idx += NT) {
      const int r = idx / C, c = idx % C, gr = row0 + r;
      s[r * ld + c] = gr < nrows && c < gcols ? g[(size_t)gr * gcols + c] : uint16_t(0);
    }
  }
}

// One float rounded to the half type, as 16 bits.
template <bool BF16>
__device__ __forceinline__ uint16_t to_half_bits(float x) { return (uint16_t)(pack_h<BF16>(x, 0.f) & 0xffffu); }

// S (16 x BK, C fragments s[j] for keys j*8..j*8+7) = this warp's 16 rows of X (A fragments xa[ks], k step ks of D/16)
// times rows 0..BK-1 of the padded tile sY, over D columns: one mma chain of D/16 steps per score (a short chain: the
// tensor core's truncating accumulation stays near float32 rounding).
template <int D, int BK, bool BF16>
__device__ __forceinline__ void warp_scores_h(float (&s)[BK / 8][4], const uint32_t (&xa)[D / 16][4], const uint16_t *sY,
                                              int ld) {
#pragma unroll
  for (int j = 0; j < BK / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) s[j][e] = 0.f;
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks)
#pragma unroll
    for (int j = 0; j < BK / 8; j += 2) {
      uint32_t b[4];
      ldsm_b_nk(b, sY, ld, j * 8, ks * 16);
      mma_h<BF16>(s[j], xa[ks], {b[0], b[1]});
      mma_h<BF16>(s[j + 1], xa[ks], {b[2], b[3]});
    }
}

// This warp's 16 rows (row0..) of the padded tile s as A fragments, D/16 k steps.
template <int D>
__device__ __forceinline__ void ldsm_rows(uint32_t (&a)[D / 16][4], const uint16_t *s, int ld, int row0) {
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks) ldsm_a(a[ks], s, ld, row0, ks * 16);
}

// S[m] (16 x BK each) for MT m-tiles of 16 rows (row0 + 16m ..) of the padded tile sX, times rows 0..BK-1 of sY, over D
// columns, with X's A fragments read from shared memory per k step: each B fragment feeds MT mma chains (MT = 2 halves
// the shared-memory reads per mma, the taller tile shape of lse4 and fwd5).
template <int D, int BK, int MT, bool BF16>
__device__ __forceinline__ void warp_scores_mt(float (&s)[MT][BK / 8][4], const uint16_t *sX, int row0,
                                               const uint16_t *sY, int ld) {
#pragma unroll
  for (int m = 0; m < MT; ++m)
#pragma unroll
    for (int j = 0; j < BK / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[m][j][e] = 0.f;
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks) {
    uint32_t a[MT][4];
#pragma unroll
    for (int m = 0; m < MT; ++m) ldsm_a(a[m], sX, ld, row0 + 16 * m, ks * 16);
#pragma unroll
    for (int j = 0; j < BK / 8; j += 2) {
      uint32_t b[4];
      ldsm_b_nk(b, sY, ld, j * 8, ks * 16);
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        mma_h<BF16>(s[m][j], a[m], {b[0], b[1]});
        mma_h<BF16>(s[m][j + 1], a[m], {b[2], b[3]});
      }
    }
  }
}

// acc[m] += A[m] (K columns, A fragments a[m][kk]) times the padded tile sY (K x N row-major), for MT m-tiles sharing
// every B fragment.
template <int K, int N, int MT, bool BF16>
__device__ __forceinline__ void warp_acc_mt(float (&acc)[MT][N / 8][4], const uint32_t (&a)[MT][K / 16][4],
                                            const uint16_t *sY, int ld) {
#pragma unroll
  for (int kk = 0; kk < K / 16; ++kk)
#pragma unroll
    for (int n = 0; n < N / 8; n += 2) {
      uint32_t b[4];
      ldsm_b_kn(b, sY, ld, kk * 16, n * 8);
#pragma unroll
      for (int m = 0; m < MT; ++m) {
        mma_h<BF16>(acc[m][n], a[m][kk], {b[0], b[1]});
        mma_h<BF16>(acc[m][n + 1], a[m][kk], {b[2], b[3]});
      }
    }
}

// acc (16 x N, C fragments acc[n] for columns n*8..) += A (16 x K, A fragments a[kk] of k step kk) times rows 0..K-1 of
// the padded tile sY (K x N row-major): dV += Pᵀ dO, dK += dSᵀ Q, dQ += dS K — warp_acc_mt with one m-tile.
template <int K, int N, bool BF16>
__device__ __forceinline__ void warp_acc_h(float (&acc)[N / 8][4], const uint32_t (&a)[K / 16][4], const uint16_t *sY,
                                           int ld) {
  warp_acc_mt<K, N, 1, BF16>(reinterpret_cast<float (&)[1][N / 8][4]>(acc),
                             reinterpret_cast<const uint32_t (&)[1][K / 16][4]>(a), sY, ld);
}

}  // namespace attn_tiled
