// lse_naive.cu — stage 1, naive: lse_i = log sum_j exp(S_ij) with S_raw = Q K^T materialised in global memory.
//
// version 1 (this file): two kernels.
//   1. pair_dot (naive_pair_dot.cu) writes S_raw [bh, nq, nk] (unscaled) into scratch, -inf where masked.
//   2. row_lse_kernel: one warp per query row reads its visible scores twice (m = max of fl(S_raw scale), then
//      l = sum of exp(S_raw scale - m), one fmaf each), lanes striding along the row (coalesced). The lse pair
//      (hi = fl(m + log l), lo; lse_pair.cuh) goes to lse and lse_lo; a row that sees no key gets (-inf, 0).
// The two-pass max/sum is the same safe logaddexp as the tiled version's running merge, done over the whole row.
// Limits: any d; scratch is bh * nq * nk floats in every dtype (attn_naive_scratch_bytes); warps loop over rows
// (1-D grid). Dtypes: Q and K in the problem's storage type (pair_dot reads them as float); lse is float32.
#include <cmath>
#include "common.cuh"
#include "lse_pair.cuh"
#include "naive.h"
#include "storage.cuh"

namespace attn {
namespace {

constexpr unsigned kBlock = 256;  // 8 warps, 8 rows in flight per block

__global__ void row_lse_kernel(const AttnProblem p, const float *__restrict__ s, float *__restrict__ lse,
                               float *__restrict__ lse_lo) {
  const int lane = threadIdx.x % kWarp;
  const size_t rows = static_cast<size_t>(p.bh) * p.nq;
  const size_t warps = static_cast<size_t>(gridDim.x) * (blockDim.x / kWarp);
  for (size_t r = (static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; r < rows; r += warps) {
    const int visible = visible_keys(p, static_cast<int>(r % p.nq));
    const float *row = s + r * p.nk;
    float m = -INFINITY;
    for (int j = lane; j < visible; j += kWarp) m = fmaxf(m, __fmul_rn(row[j], p.scale));
    m = warp_max(m);
    float sum = 0.0f;
    if (m != -INFINITY) {
      for (int j = lane; j < visible; j += kWarp) sum += exp_score(row[j], p.scale, m);
    }
    sum = warp_sum(sum);
    if (lane == 0) lse_pair(m, logf(sum), lse[r], lse_lo[r]);
  }
}

}  // namespace
}  // namespace attn

size_t attn_naive_scratch_bytes(const AttnProblem &p) {
  return static_cast<size_t>(p.bh) * static_cast<size_t>(p.nq) * static_cast<size_t>(p.nk) * sizeof(float);
}

cudaError_t attn_lse_naive(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn;
  if (t.scratchBytes < attn_naive_scratch_bytes(p)) return cudaErrorInvalidValue;
  float *s = static_cast<float *>(t.scratch);
  ATTN_TRY(with_dtype(p.dtype, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    return pair_dot(PairOut::kScores, p, static_cast<const T *>(t.q), static_cast<const T *>(t.k), p.d, nullptr,
                    nullptr, s, stream);
  }));
  const size_t rows = static_cast<size_t>(p.bh) * p.nq;
  ATTN_LAUNCH(row_lse_kernel, blocks_for(rows * kWarp, kBlock), kBlock, 0, stream)(p, s, t.lse, t.lse_lo);
  ATTN_TRY_LAUNCH();
  return cudaSuccess;
}
