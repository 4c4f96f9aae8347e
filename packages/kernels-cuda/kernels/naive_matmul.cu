// naive_matmul.cu — the score matrix in global memory times a [rows, cols] tensor: O = P V, dQ = scale dS K
// (scratch @ b, output rows are queries) and dV = P^T dO, dK = scale dS^T Q (scratch^T @ b, output rows are keys).
//
// Tiling: none on chip (naive variant). Each thread owns kRows = 4 consecutive output rows times one column c: per step
// t of the inner dimension it loads one element of b (lanes run along c, so the load is coalesced) and 4 elements of
// the scratch matrix (the same for all lanes of a warp: broadcast). Non-transposed, the 4 scratch elements sit in 4
// rows; transposed, they are 4 neighbours in one row (one 32-byte sector).
// 1-D grid, grid-stride loop, size_t indices; any cols (head dim).
// Causal: the inner loop skips the range no row of the tile sees (keys past the last row's horizon, or queries
// before the first key's first viewer); inside the range, masked scratch entries are 0, so fully masked rows get 0.
// Dtypes: b and out in the storage type T (storage.cuh): b widened to float as it is read, the float32 sums rounded
// once when stored; the scratch matrix is float32.
#include "common.cuh"
#include "naive.h"
#include "storage.cuh"

namespace attn {
namespace {

constexpr int kRows = 4;
constexpr unsigned kBlock = 256;

template <bool kTransposed, class T>
__global__ void scratch_matmul_kernel(const AttnProblem p, const float *__restrict__ s, const T *__restrict__ b,
                                      int cols, float alpha, T *__restrict__ out) {
  const int rows = kTransposed ? p.nk : p.nq;
  const int inner = kTransposed ? p.nq : p.nk;
  const int groups = (rows + kRows - 1) / kRows;
  const size_t total = static_cast<size_t>(p.bh) * groups * cols;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t idx = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int col = static_cast<int>(idx % cols);
    const size_t bg = idx / cols;
    const int r0 = static_cast<int>(bg % groups) * kRows;
    const size_t bi = bg / groups;
    const int nrows = min(kRows, rows - r0);

    const float *sb = s + bi * p.nq * p.nk;
    const T *bcol = b + bi * inner * cols + col;
    float acc[kRows] = {};
    if (!kTransposed) {
      const float *srow[kRows];
#pragma unroll
      for (int r = 0; r < kRows; r++) srow[r] = sb + static_cast<size_t>(min(r0 + r, rows - 1)) * p.nk;
      const int t_end = visible_keys(p, r0 + nrows - 1);
      for (int t = 0; t < t_end; t++) {
        const float bv = to_float(bcol[static_cast<size_t>(t) * cols]);
#pragma unroll
        for (int r = 0; r < kRows; r++) acc[r] = fmaf(srow[r][t], bv, acc[r]);
      }
    } else {
      int jr[kRows];
#pragma unroll
      for (int r = 0; r < kRows; r++) jr[r] = min(r0 + r, rows - 1);
      for (int t = first_query_seeing(p, r0); t < inner; t++) {
        const float *srow = sb + static_cast<size_t>(t) * p.nk;
        const float bv = to_float(bcol[static_cast<size_t>(t) * cols]);
#pragma unroll
        for (int r = 0; r < kRows; r++) acc[r] = fmaf(srow[jr[r]], bv, acc[r]);
      }
    }

    T *o = out + (bi * rows + r0) * cols + col;
#pragma unroll
    for (int r = 0; r < kRows; r++) {
      if (r < nrows) o[static_cast<size_t>(r) * cols] = from_float<T>(alpha * acc[r]);
    }
  }
}

}  // namespace

template <class T>
cudaError_t scratch_matmul(bool transposed, const AttnProblem &p, const float *scratch, const T *b, int cols,
                           float alpha, T *out, cudaStream_t stream) {
  const int rows = transposed ? p.nk : p.nq;
  const size_t total = static_cast<size_t>(p.bh) * ((rows + kRows - 1) / kRows) * cols;
  const unsigned grid = blocks_for(total, kBlock);
  const auto kernel = transposed ? scratch_matmul_kernel<true, T> : scratch_matmul_kernel<false, T>;
  ATTN_LAUNCH(kernel, grid, kBlock, 0, stream)(p, scratch, b, cols, alpha, out);
  ATTN_TRY_LAUNCH();
  return cudaSuccess;
}

template cudaError_t scratch_matmul<float>(bool, const AttnProblem &, const float *, const float *, int, float, float *,
                                           cudaStream_t);
template cudaError_t scratch_matmul<__half>(bool, const AttnProblem &, const float *, const __half *, int, float,
                                            __half *, cudaStream_t);
template cudaError_t scratch_matmul<__nv_bfloat16>(bool, const AttnProblem &, const float *, const __nv_bfloat16 *, int,
                                                   float, __nv_bfloat16 *, cudaStream_t);

}  // namespace attn
