// tiled/common.cuh — what every tiled (shared-memory) kernel shares: problem checks, the 1-D (bh, tile) grid,
// the causal key/query ranges of a tile, global→shared tile loads, and the register micro-tile product.
//
// Thread layout of a register fragment Frag<M, N> (an M x N tile spread over kThreads threads):
//   TC threads per row group (a power of two <= 32, so one group is TC consecutive lanes of one warp),
//   TR = kThreads / TC groups; thread t owns rows t/TC + i*TR (i < TM) and columns t%TC + j*TC (j < TN).
//   Strided ownership keeps the lanes of a warp on consecutive columns (conflict-free shared reads) and lets a
//   row reduction be a shuffle butterfly inside one group.
// Shared tiles are row-major with an odd row stride (cols + 1), so a walk down a column across the rows that the
// lanes of a warp own hits distinct banks.
#pragma once
#include <cuda_runtime.h>
#include <cstddef>
#include <cstdint>
#include <cmath>
#include "../attention.h"
#include "../lse_pair.cuh"
#include "../storage.cuh"

namespace attn_tiled {

using attn::exp_score;
using attn::lse_pair;

constexpr int kThreads = 256;
constexpr int kMaxD = 256;

__host__ __device__ constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }
__host__ __device__ constexpr int padded(int cols) { return cols + 1; }

// Head-dim bucket: the smallest of 32/64/128/256 holding both d and dv (columns past d or dv are zero in smem).
inline int head_bucket(const AttnProblem &p) {
  const int m = p.d > p.dv ? p.d : p.dv;
  return m <= 32 ? 32 : m <= 64 ? 64 : m <= 128 ? 128 : 256;
}

inline cudaError_t check_problem(const AttnProblem &p) {
  if (p.bh < 1 || p.nq < 1 || p.nk < 1) return cudaErrorInvalidValue;
  if (p.d < 1 || p.d > kMaxD || p.dv < 1 || p.dv > kMaxD) return cudaErrorInvalidValue;
  if (!std::isfinite(p.scale)) return cudaErrorInvalidValue;
  if ((int)p.dtype < 0 || (int)p.dtype > 2) return cudaErrorInvalidValue;
  return cudaSuccess;
}

// One block per (bh, tile): blockIdx.x = tileOrder * bh + b. Refuses grids past 2^31 - 1 blocks.
inline bool tile_grid(int bh, int tiles, unsigned *grid) {
  const long long n = (long long)bh * tiles;
  if (n < 1 || n > 0x7fffffffLL) return false;
  *grid = (unsigned)n;
  return true;
}

// Multiprocessors of the current device (read once per process; 132 if the query fails).
inline int sm_count() {
  static const int n = [] {
    int dev = 0, count = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
      return 132;
    return count;
  }();
  return n;
}

// Sets the dynamic shared memory a kernel needs (above 48 KB needs the opt-in), then nothing else.
template <class Kernel>
inline cudaError_t allow_smem(Kernel kernel, size_t bytes) {
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
}

// ---- causal ranges ------------------------------------------------------------------------------------------------

// query i sees key j iff j < nk and (not causal or j <= i + nk - nq); padded query rows (i >= nq) see nothing.
__device__ __forceinline__ bool visible(const AttnProblem &p, int i, int j) {
  return i < p.nq && j < p.nk && (!p.causal || (long long)j <= (long long)i + p.nk - p.nq);
}

// Exclusive end of the keys any query row in [.., qEnd) sees (qEnd exclusive, <= nq); may be 0.
__device__ __forceinline__ int key_end(const AttnProblem &p, int qEnd) {
  if (!p.causal) return p.nk;
  const long long e = (long long)qEnd + p.nk - p.nq;
  return e < 0 ? 0 : e > p.nk ? p.nk : (int)e;
}

// First query row that sees key k0 (may be >= nq: then no row sees it).
__device__ __forceinline__ int query_begin(const AttnProblem &p, int k0) {
  if (!p.causal) return 0;
  const long long b = (long long)k0 - ((long long)p.nk - p.nq);
  return b < 0 ? 0 : b > p.nq ? p.nq : (int)b;
}

// ---- shared-memory tiles ------------------------------------------------------------------------------------------

// s[r * ld + c] = g[(row0 + r) * gcols + c] for r < R, c < C; zero where row0 + r >= nrows or c >= gcols.
// g points at this bh's first row, in storage type T (float, __half, __nv_bfloat16), widened to float as it is read.
// Consecutive threads take consecutive columns (coalesced when gcols == C).
template <int R, int C, int NT = kThreads, class T>
__device__ __forceinline__ void load_tile(float *s, int ld, const T *__restrict__ g, int row0, int nrows, int gcols) {
  static_assert((C & (C - 1)) == 0, "C must be a power of two");
  for (int idx = threadIdx.x; idx < R * C; idx += NT) {
    const int r = idx / C, c = idx % C;
    const int gr = row0 + r;
    s[r * ld + c] = (gr < nrows && c < gcols) ? attn::to_float(g[(size_t)gr * gcols + c]) : 0.f;
  }
}

// s[r] = g[row0 + r] for row0 + r < nrows, else `fill`.
template <int R, int NT = kThreads>
__device__ __forceinline__ void load_rows(float *s, const float *__restrict__ g, int row0, int nrows, float fill) {
  for (int r = threadIdx.x; r < R; r += NT) s[r] = row0 + r < nrows ? g[row0 + r] : fill;
}

// ---- register fragments -------------------------------------------------------------------------------------------

// The threads-per-row TC that minimises shared loads per FMA (TM + TN) for an M x N tile.
__host__ __device__ constexpr int pick_tc(int M, int N, int threads) {
  int best = 0, bestCost = 1 << 30;
  for (int tc = 1; tc <= 32; tc *= 2) {
    if (N % tc != 0 || threads % tc != 0) continue;
    const int tr = threads / tc;
    if (tr > M || M % tr != 0) continue;
    const int cost = M / tr + N / tc;
    if (cost <= bestCost) {
      bestCost = cost;
      best = tc;
    }
  }
  return best;
}

template <int M, int N>
struct Frag {
  static constexpr int TC = pick_tc(M, N, kThreads);
  static_assert(TC > 0, "no thread layout for this tile shape");
  static constexpr int TR = kThreads / TC;
  static constexpr int TM = M / TR;
  static constexpr int TN = N / TC;
  __device__ static __forceinline__ int row(int i) { return (int)threadIdx.x / TC + i * TR; }
  __device__ static __forceinline__ int col(int j) { return (int)threadIdx.x % TC + j * TC; }
};

template <class F>
__device__ __forceinline__ void frag_zero(float (&acc)[F::TM][F::TN]) {
#pragma unroll
  for (int i = 0; i < F::TM; ++i)
#pragma unroll
    for (int j = 0; j < F::TN; ++j) acc[i][j] = 0.f;
}

// acc += A · B, A [M][K] at stride lda, B [K][N] at stride ldb (both shared memory).
template <class F, int K>
__device__ __forceinline__ void frag_mma_kn(float (&acc)[F::TM][F::TN], const float *A, int lda, const float *B,
                                            int ldb) {
  const int r0 = threadIdx.x / F::TC, c0 = threadIdx.x % F::TC;
#pragma unroll 4
  for (int k = 0; k < K; ++k) {
    float a[F::TM], b[F::TN];
#pragma unroll
    for (int i = 0; i < F::TM; ++i) a[i] = A[(r0 + i * F::TR) * lda + k];
#pragma unroll
    for (int j = 0; j < F::TN; ++j) b[j] = B[k * ldb + c0 + j * F::TC];
#pragma unroll
    for (int i = 0; i < F::TM; ++i)
#pragma unroll
      for (int j = 0; j < F::TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

// acc += A · Bᵀ, A [M][K] at stride lda, B [N][K] at stride ldb (both shared memory).
template <class F, int K>
__device__ __forceinline__ void frag_mma_nk(float (&acc)[F::TM][F::TN], const float *A, int lda, const float *B,
                                            int ldb) {
  const int r0 = threadIdx.x / F::TC, c0 = threadIdx.x % F::TC;
#pragma unroll 4
  for (int k = 0; k < K; ++k) {
    float a[F::TM], b[F::TN];
#pragma unroll
    for (int i = 0; i < F::TM; ++i) a[i] = A[(r0 + i * F::TR) * lda + k];
#pragma unroll
    for (int j = 0; j < F::TN; ++j) b[j] = B[(c0 + j * F::TC) * ldb + k];
#pragma unroll
    for (int i = 0; i < F::TM; ++i)
#pragma unroll
      for (int j = 0; j < F::TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

// Writes rows < nrows, columns < gcols of a fragment (times `mul`) to g [.., gcols] (g at this bh's first row), in
// storage type T: each value rounded once (to nearest even) as it is stored.
template <class F, class T>
__device__ __forceinline__ void frag_store(const float (&acc)[F::TM][F::TN], T *__restrict__ g, int row0, int nrows,
                                           int gcols, float mul) {
#pragma unroll
  for (int i = 0; i < F::TM; ++i) {
    const int r = row0 + F::row(i);
    if (r >= nrows) continue;
#pragma unroll
    for (int j = 0; j < F::TN; ++j) {
      const int c = F::col(j);
      if (c < gcols) g[(size_t)r * gcols + c] = attn::from_float<T>(acc[i][j] * mul);
    }
  }
}

// Butterfly reductions over the W consecutive lanes of a row group; every lane of the warp must call them.
// Each step combines a and b commutatively, so all W lanes end with bit-identical results.
template <int W>
__device__ __forceinline__ float group_max(float v) {
#pragma unroll
  for (int o = W / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

template <int W>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
  for (int o = W / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

}  // namespace attn_tiled
