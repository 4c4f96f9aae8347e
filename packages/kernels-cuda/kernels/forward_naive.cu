// forward_naive.cu — stage 2, naive: O = P V with P = exp(S - lse) materialised in global memory.
//
// version 1 (this file): two kernels.
//   1. pair_dot (naive_pair_dot.cu) recomputes S_raw = Q K^T and writes P = exp((S_raw scale - lse) - lse_lo)
//      into scratch [bh, nq, nk] (lse_pair.cuh); masked entries and rows with lse = -inf get 0.
//   2. scratch_matmul (naive_matmul.cu) reads P back: O = P V, each thread 4 query rows x 1 output column.
// Fully masked rows: P row is 0, so O row is 0. Limits: any d, dv; scratch bh * nq * nk floats in every dtype.
// Dtypes: Q, K, V and O in the problem's storage type; P stays float32 in scratch, O is rounded once when stored.
#include "common.cuh"
#include "naive.h"
#include "storage.cuh"

cudaError_t attn_forward_naive(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn;
  if (t.scratchBytes < attn_naive_scratch_bytes(p)) return cudaErrorInvalidValue;
  float *s = static_cast<float *>(t.scratch);
  return with_dtype(p.dtype, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    ATTN_TRY(pair_dot(PairOut::kProbs, p, static_cast<const T *>(t.q), static_cast<const T *>(t.k), p.d, t.lse,
                      t.lse_lo, s, stream));
    ATTN_TRY(scratch_matmul(false, p, s, static_cast<const T *>(t.v), p.dv, 1.0f, static_cast<T *>(t.o), stream));
    return cudaSuccess;
  });
}
