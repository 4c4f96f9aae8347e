// naive_pair_dot.cu — every (query i, key j) dot product of a stage, written to the score matrix in global memory.
//
// Used by all three naive stages: S_raw = Q K^T (lse), P = exp(S - lse) with the lse pair (forward, backward;
// lse_pair.cuh), and dS = P * (dO V^T - delta) in place over P (backward). See naive.h for the three outputs.
//
// Tiling: none on chip (this is the naive variant). Each thread owns a small register tile of kRows = 4 consecutive
// query rows times one key j: it streams B_j (a K or V row) once and reuses each element for 4 rows, so the 4 rows of
// A are broadcast loads (all lanes of a warp share them) and the key rows are read through L1, as float4 when
// len % 4 == 0 (each warp request still touches 32 rows: this is the naive variant's main cost besides memory).
// There each row keeps four partial sums (one per float4 lane), added pairwise at the end: four chains of len/4
// fmaf instead of one of len, so the dot product (a score, or dP) rounds about half as much as a plain float32 loop.
// Lanes run along j, so every write of the [bh, nq, nk] matrix is coalesced. 1-D grid, grid-stride loop, size_t
// indices: any bh * nq * nk that fits in memory. Any head dim (the dot loops over len).
// Causal: a tile whose rows all miss key j skips the dot; masked elements are still written (-inf or 0), so later
// kernels may read the whole row.
// Dtypes: A and B in the storage type T (storage.cuh), each element widened to float as it is read (half rows: four
// 2-byte loads per float4 step), the same float32 sums in every dtype; the output is the float32 scratch.
#include <cmath>
#include "common.cuh"
#include "lse_pair.cuh"
#include "naive.h"
#include "storage.cuh"

namespace attn {
namespace {

constexpr int kRows = 4;
constexpr unsigned kBlock = 256;

// Elements 4 c4 .. 4 c4 + 3 of a row as floats (float rows: one 16-byte load).
template <class T>
__device__ __forceinline__ float4 load4(const T *row, int c4) {
  if constexpr (std::is_same_v<T, float>) {
    return reinterpret_cast<const float4 *>(row)[c4];
  } else {
    const T *x = row + 4 * c4;
    return make_float4(to_float(x[0]), to_float(x[1]), to_float(x[2]), to_float(x[3]));
  }
}

template <PairOut kWhat, class T>
__global__ void pair_dot_kernel(const AttnProblem p, const T *__restrict__ a, const T *__restrict__ b,
                                int len, const float *__restrict__ row_term, const float *__restrict__ row_term2,
                                float *__restrict__ out) {
  const int groups = (p.nq + kRows - 1) / kRows;
  const size_t total = static_cast<size_t>(p.bh) * groups * p.nk;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t idx = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int j = static_cast<int>(idx % p.nk);
    const size_t bg = idx / p.nk;
    const int i0 = static_cast<int>(bg % groups) * kRows;
    const size_t bi = bg / groups;
    const int rows = min(kRows, p.nq - i0);

    // Rows past the end of Q repeat the last row (valid memory); their results are dropped below.
    const T *arow[kRows];
#pragma unroll
    for (int r = 0; r < kRows; r++) arow[r] = a + (bi * p.nq + min(i0 + r, p.nq - 1)) * len;
    const T *brow = b + (bi * p.nk + j) * len;

    float acc[kRows] = {};
    if (j < visible_keys(p, i0 + rows - 1)) {  // the last row of the tile sees the most keys
      if (len % 4 == 0) {
        // 16-byte loads: lanes read 32 different key rows, so fewer, wider requests matter (rows stay 16-B aligned:
        // cudaMalloc bases are 256-B aligned and every row offset is a multiple of len).
        float4 part[kRows] = {};
        for (int c4 = 0; c4 < len / 4; c4++) {
          const float4 bv = load4(brow, c4);
#pragma unroll
          for (int r = 0; r < kRows; r++) {
            const float4 av = load4(arow[r], c4);
            part[r].x = fmaf(av.x, bv.x, part[r].x);
            part[r].y = fmaf(av.y, bv.y, part[r].y);
            part[r].z = fmaf(av.z, bv.z, part[r].z);
            part[r].w = fmaf(av.w, bv.w, part[r].w);
          }
        }
#pragma unroll
        for (int r = 0; r < kRows; r++) acc[r] = (part[r].x + part[r].y) + (part[r].z + part[r].w);
      } else {
        for (int c = 0; c < len; c++) {
          const float bv = to_float(brow[c]);
#pragma unroll
          for (int r = 0; r < kRows; r++) acc[r] = fmaf(to_float(arow[r][c]), bv, acc[r]);
        }
      }
    }

    float *o = out + (bi * p.nq + i0) * p.nk + j;
#pragma unroll
    for (int r = 0; r < kRows; r++) {
      if (r >= rows) break;
      const int i = i0 + r;
      const bool visible = j < visible_keys(p, i);
      float *dst = o + static_cast<size_t>(r) * p.nk;
      if (kWhat == PairOut::kScores) {
        *dst = visible ? acc[r] : -INFINITY;
      } else if (kWhat == PairOut::kProbs) {
        const float hi = row_term[bi * p.nq + i], lo = row_term2[bi * p.nq + i];
        *dst = (visible && hi != -INFINITY) ? exp_score(acc[r], p.scale, hi, lo) : 0.0f;
      } else {
        *dst = visible ? *dst * (acc[r] - row_term[bi * p.nq + i]) : 0.0f;
      }
    }
  }
}

template <PairOut kWhat, class T>
cudaError_t launch(const AttnProblem &p, const T *a, const T *b, int len, const float *row, const float *row2,
                   float *scratch, cudaStream_t stream) {
  const size_t total = static_cast<size_t>(p.bh) * ((p.nq + kRows - 1) / kRows) * p.nk;
  const auto kernel = pair_dot_kernel<kWhat, T>;
  ATTN_LAUNCH(kernel, blocks_for(total, kBlock), kBlock, 0, stream)(p, a, b, len, row, row2, scratch);
  ATTN_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace

template <class T>
cudaError_t pair_dot(PairOut what, const AttnProblem &p, const T *a, const T *b, int len, const float *row,
                     const float *row2, float *scratch, cudaStream_t stream) {
  switch (what) {
    case PairOut::kScores: return launch<PairOut::kScores>(p, a, b, len, row, row2, scratch, stream);
    case PairOut::kProbs: return launch<PairOut::kProbs>(p, a, b, len, row, row2, scratch, stream);
    case PairOut::kDScores: return launch<PairOut::kDScores>(p, a, b, len, row, row2, scratch, stream);
  }
  return cudaErrorInvalidValue;
}

#define ATTN_PAIR_DOT(T)                                                                                          \
  template cudaError_t pair_dot<T>(PairOut, const AttnProblem &, const T *, const T *, int, const float *,     \
                                   const float *, float *, cudaStream_t);
ATTN_PAIR_DOT(float)
ATTN_PAIR_DOT(__half)
ATTN_PAIR_DOT(__nv_bfloat16)

}  // namespace attn
