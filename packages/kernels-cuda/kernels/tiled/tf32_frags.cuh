// tiled/tf32_frags.cuh — 3xTF32 operands stored in shared memory already split and already in mma.sync fragment
// order, so the inner loop of a kernel is one 16-byte LDS per B fragment (two per A fragment) and three mmas, with
// no cvt, no FADD and no address arithmetic beyond a lane offset. Used by lse v3, forward v4 and backward v3.
//
// Fragments of m16n8k8 .tf32 (g = lane / 4, t = lane % 4; see mma_tf32.cuh):
//   A 16x8: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)        B 8x8 (k x n): b0 (k=t, n=g), b1 (k=t+4, n=g)
//   C 16x8: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
// Layouts (one "slot" = what one lane needs for one fragment; slots of a fragment are 32 consecutive, so a warp's
// 16-byte loads are 4 conflict-free wavefronts):
//   ASplit  (A operand [rows][K], row-major source): slot (mt, ks, lane) -> hi plane uint4 {a0..a3}, lo plane uint4.
//   BSplitNK (B operand given as Bᵀ [n][K] row-major, e.g. K for S = Q Kᵀ): slot (j, ks, lane) -> uint4
//            {b0 hi, b1 hi, b0 lo, b1 lo}.
//   BSplitKN (B operand [K][n] row-major with the k order permuted, e.g. V for O = P V): logical k = t is source row
//            2t, k = t+4 is row 2t+1 of the 8-row step. With that permutation the C fragment of a score tile IS the A
//            fragment of the next product (a0 = c0, a1 = c2, a2 = c1, a3 = c3): P never leaves registers.
// The slot loaders read global memory straight into registers (zero outside [nrows) x [gcols)), so a tile can be
// prefetched into registers during the previous tile's mma work and split into shared memory after a barrier.
#pragma once
#include "exp2_score.cuh"
#include "mma_tf32.cuh"

namespace attn_tiled {

__device__ __forceinline__ float ld_or_zero(const float *__restrict__ g, int r, int c, int nrows, int gcols) {
  return r < nrows && c < gcols ? g[(size_t)r * gcols + c] : 0.f;
}

// ---- A operand: R rows x C columns (C = K of the product) ---------------------------------------------------------
template <int R, int C> struct ASplit {
  static constexpr int kSlots = R / 16 * (C / 8) * 32;  // uint4 per plane
};

// Loads, splits and stores rows row0.. of g [nrows][gcols] as ASplit<R, C> (hi plane, then lo plane).
template <int R, int C, int NT>
__device__ __forceinline__ void store_a_split(uint4 *hi, uint4 *lo, const float *__restrict__ g, int row0, int nrows,
                                              int gcols) {
  for (int s = threadIdx.x; s < ASplit<R, C>::kSlots; s += NT) {
    const int lane = s % 32, ks = s / 32 % (C / 8), mt = s / 32 / (C / 8), gg = lane / 4, t = lane % 4;
    const int r = row0 + mt * 16 + gg, c = ks * 8 + t;
    const float x[4] = {ld_or_zero(g, r, c, nrows, gcols), ld_or_zero(g, r + 8, c, nrows, gcols),
                        ld_or_zero(g, r, c + 4, nrows, gcols), ld_or_zero(g, r + 8, c + 4, nrows, gcols)};
    uint32_t h[4], l[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) split_tf32(x[e], h[e], l[e]);
    hi[s] = make_uint4(h[0], h[1], h[2], h[3]);
    lo[s] = make_uint4(l[0], l[1], l[2], l[3]);
  }
}

__device__ __forceinline__ void load_a_frag(const uint4 *hi, const uint4 *lo, int slot, uint32_t (&ah)[4],
                                            uint32_t (&al)[4]) {
  const uint4 h = hi[slot], l = lo[slot];
  ah[0] = h.x, ah[1] = h.y, ah[2] = h.z, ah[3] = h.w;
  al[0] = l.x, al[1] = l.y, al[2] = l.z, al[3] = l.w;
}

// ---- B operands: R source rows x C source columns, 2 elements per slot -----------------------------------------
// A warp fetches and stores kPerThread whole fragments (fragment u = warp * kPerThread + i, slots u*32 .. u*32+31),
// so a thread's addresses differ by compile-time steps (few live registers when a fetch is held across a tile).
template <int R, int C, int NT> struct BSlots {
  static constexpr int kFrags = R / 8 * (C / 8), kSlots = kFrags * 32;
  static constexpr int kPerThread = kFrags / (NT / 32);
  static_assert(kFrags % (NT / 32) == 0, "B tile must split evenly over the warps");
};

// BSplitNK: source rows are n (R = N), columns are k (C = K). Fragment u = j * (C/8) + ks.
// Fast path (the tile lies inside g and gcols == C): one base pointer per thread, compile-time offsets, no tests.
template <int R, int C, int NT>
__device__ __forceinline__ void fetch_b_nk(float (&x)[BSlots<R, C, NT>::kPerThread][2], const float *__restrict__ g,
                                           int row0, int nrows, int gcols) {
  constexpr int PT = BSlots<R, C, NT>::kPerThread, KD = C / 8;
  static_assert(PT % KD == 0 || KD % PT == 0, "a warp's fragments must cover whole rows or part of one");
  const int lane = threadIdx.x % 32, u0 = (int)threadIdx.x / 32 * PT;
  if (gcols == C && row0 + R <= nrows) {
    const float *base = g + (size_t)(row0 + u0 / KD * 8 + lane / 4) * C + u0 % KD * 8 + lane % 4;
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int off = i / KD * 8 * C + i % KD * 8;
      x[i][0] = base[off];
      x[i][1] = base[off + 4];
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < PT; ++i) {
    const int u = u0 + i, ks = u % KD, j = u / KD;
    const int r = row0 + j * 8 + lane / 4, c = ks * 8 + lane % 4;
    x[i][0] = ld_or_zero(g, r, c, nrows, gcols);
    x[i][1] = ld_or_zero(g, r, c + 4, nrows, gcols);
  }
}

// BSplitKN: source rows are k (R = K, permuted within each 8), columns are n (C = N). Fragment u = ks * (C/8) + nn:
// b0 = g[ks*8 + 2t][nn*8 + g], b1 = g[ks*8 + 2t + 1][nn*8 + g]. Same fast path as fetch_b_nk.
template <int R, int C, int NT>
__device__ __forceinline__ void fetch_b_kn(float (&x)[BSlots<R, C, NT>::kPerThread][2], const float *__restrict__ g,
                                           int row0, int nrows, int gcols) {
  constexpr int PT = BSlots<R, C, NT>::kPerThread, NN = C / 8;
  static_assert(PT % NN == 0 || NN % PT == 0, "a warp's fragments must cover whole rows or part of one");
  const int lane = threadIdx.x % 32, u0 = (int)threadIdx.x / 32 * PT;
  if (gcols == C && row0 + R <= nrows) {
    const float *base = g + (size_t)(row0 + u0 / NN * 8 + 2 * (lane % 4)) * C + u0 % NN * 8 + lane / 4;
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int off = i / NN * 8 * C + i % NN * 8;
      x[i][0] = base[off];
      x[i][1] = base[off + C];
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < PT; ++i) {
    const int u = u0 + i, nn = u % NN, ks = u / NN;
    const int r = row0 + ks * 8 + 2 * (lane % 4), c = nn * 8 + lane / 4;
    x[i][0] = ld_or_zero(g, r, c, nrows, gcols);
    x[i][1] = ld_or_zero(g, r + 1, c, nrows, gcols);
  }
}

// Splits fetched B slots into shared memory (either layout: the same fragment numbering as the fetch).
template <int R, int C, int NT>
__device__ __forceinline__ void store_b_split(uint4 *dst, const float (&x)[BSlots<R, C, NT>::kPerThread][2]) {
  const int lane = threadIdx.x % 32, u0 = (int)threadIdx.x / 32 * BSlots<R, C, NT>::kPerThread;
#pragma unroll
  for (int i = 0; i < BSlots<R, C, NT>::kPerThread; ++i) {
    uint32_t h0, l0, h1, l1;
    split_tf32(x[i][0], h0, l0);
    split_tf32(x[i][1], h1, l1);
    dst[(u0 + i) * 32 + lane] = make_uint4(h0, h1, l0, l1);
  }
}

// ---- the product -------------------------------------------------------------------------------------------------

// c += a · b in three TF32 products, small terms first, all through C (one chain; the caller bounds its length:
// a score is one dot product over d, an output fragment is one key tile, then an RN add — see mma_tf32.cuh on the
// truncating accumulation of the tensor cores).
__device__ __forceinline__ void mma3(float (&c)[4], const uint32_t (&ah)[4], const uint32_t (&al)[4], const uint4 b) {
  const uint32_t bh[2] = {b.x, b.y}, bl[2] = {b.z, b.w};
  mma_tf32(c, al, bh);
  mma_tf32(c, ah, bl);
  mma_tf32(c, ah, bh);
}

// The same with C = 0 (starts a chain).
__device__ __forceinline__ void mma3_c0(float (&c)[4], const uint32_t (&ah)[4], const uint32_t (&al)[4],
                                        const uint4 b) {
  const uint32_t bh[2] = {b.x, b.y}, bl[2] = {b.z, b.w};
  mma_tf32_c0(c, al, bh);
  mma_tf32(c, ah, bl);
  mma_tf32(c, ah, bh);
}

// c += a · b as its own short chain (three mmas from C = 0, then RN adds): for products whose sum cancels against an
// fp32 value computed elsewhere (dP - delta in the backward), where a long truncating chain's bias would show.
__device__ __forceinline__ void mma3_rn(float (&c)[4], const uint32_t (&ah)[4], const uint32_t (&al)[4],
                                        const uint4 b) {
  float t[4];
  mma3_c0(t, ah, al, b);
#pragma unroll
  for (int e = 0; e < 4; ++e) c[e] += t[e];
}

// A score product (S = Q Kᵀ, Sᵀ = K Qᵀ) step. SHORT chains by default: every 8 columns of d are their own chain,
// RN-added (the score is then as exact as a float32 dot product: lse within the FlashAttention rule of the naive
// kernels, and dS = P (dP - delta) cancels where it must). LONG: one chain over d (fewer FADDs, faster; on the H100
// lse maxAbs 1.25e-6 vs naive 1.4e-7 at d = 128 causal: reports/h100/2026-11-25-v4/versions/final2.json); selected by
// the variant knob scores=long (tiled@…+scores=long). Every kernel of a run must use the same one: P = exp(S - lse)
// sums to 1 only if S is the same S that made lse.
template <bool LONG>
__device__ __forceinline__ void mma3_score(float (&c)[4], const uint32_t (&ah)[4], const uint32_t (&al)[4],
                                           const uint4 b) {
  if constexpr (LONG)
    mma3(c, ah, al, b);
  else
    mma3_rn(c, ah, al, b);
}

// The backward's transposed score products (Sᵀ = K Qᵀ, dPᵀ = V dOᵀ: A holds K or V, B holds Q or dO) with the three
// products issued in the order the forward and the dQ pass issue them for S and dP (q_lo·k_hi, q_hi·k_lo, q_hi·k_hi
// = here a_hi·b_lo, a_lo·b_hi, a_hi·b_hi). An mma sums the same 8 products and C to the same value whichever operand
// holds which, so Sᵀ is S transposed bit for bit and every stage takes P from the same score (with the products
// in mma3's order, P in the dK/dV pass differed from the forward's in the last bits of S: dV 100x the textbook at
// sigma = 1024 in the emulator).
__device__ __forceinline__ void mma3_t_c0(float (&c)[4], const uint32_t (&ah)[4], const uint32_t (&al)[4],
                                          const uint4 b) {
  const uint32_t bh[2] = {b.x, b.y}, bl[2] = {b.z, b.w};
  mma_tf32_c0(c, ah, bl);
  mma_tf32(c, al, bh);
  mma_tf32(c, ah, bh);
}

__device__ __forceinline__ void mma3_rn_t(float (&c)[4], const uint32_t (&ah)[4], const uint32_t (&al)[4],
                                          const uint4 b) {
  float t[4];
  mma3_t_c0(t, ah, al, b);
#pragma unroll
  for (int e = 0; e < 4; ++e) c[e] += t[e];
}

template <bool LONG>
__device__ __forceinline__ void mma3_score_t(float (&c)[4], const uint32_t (&ah)[4], const uint32_t (&al)[4],
                                             const uint4 b) {
  if constexpr (LONG) {
    const uint32_t bh[2] = {b.x, b.y}, bl[2] = {b.z, b.w};
    mma_tf32(c, ah, bl);
    mma_tf32(c, al, bh);
    mma_tf32(c, ah, bh);
  } else {
    mma3_rn_t(c, ah, al, b);
  }
}

// A fragment (hi, lo) of the next product from a score C fragment (BSplitKN's permuted k order).
__device__ __forceinline__ void c_to_a_split(const float (&c)[4], uint32_t (&ah)[4], uint32_t (&al)[4]) {
  split_tf32(c[0], ah[0], al[0]);
  split_tf32(c[2], ah[1], al[1]);
  split_tf32(c[1], ah[2], al[2]);
  split_tf32(c[3], ah[3], al[3]);
}

}  // namespace attn_tiled
