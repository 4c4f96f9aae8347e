// backward_naive.cu — stage 3, naive: dV, dQ, dK through P and dS materialised in global memory.
//
// version 1 (this file): the delta pre-pass (attn_backward_delta: delta_i = dO_i . O_i, backward_delta.cu, as in the
// tiled launcher), then five kernels over one scratch matrix [bh, nq, nk], given lse (stage 1):
//   1. pair_dot kProbs:    scratch = P = exp((scale Q K^T - lse) - lse_lo) (0 where masked; lse_pair.cuh)
//   2. scratch_matmul T:   dV = P^T dO                                   (output rows: keys)
//   3. pair_dot kDScores:  scratch = dS = P * (dO V^T - delta), in place (dP is never stored on its own: each
//                          element of dP is used once, right where it is computed)
//   4. scratch_matmul:     dQ = scale dS K                               (output rows: queries)
//   5. scratch_matmul T:   dK = scale dS^T Q
// Deterministic (no atomics). Fully masked query rows: P and dS rows are 0, so dQ = 0; they add nothing to dK, dV.
// Limits: any d, dv; scratch bh * nq * nk floats in every dtype.
// Dtypes: Q, K, V, dO and dQ, dK, dV in the problem's storage type; P and dS stay float32 in scratch (never rounded to
// the dtype), each gradient is rounded once when stored.
#include "common.cuh"
#include "naive.h"
#include "storage.cuh"

cudaError_t attn_backward_naive(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn;
  if (t.scratchBytes < attn_naive_scratch_bytes(p)) return cudaErrorInvalidValue;
  float *s = static_cast<float *>(t.scratch);
  ATTN_TRY(attn_backward_delta(p, t, stream));
  return with_dtype(p.dtype, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    const T *q = static_cast<const T *>(t.q), *k = static_cast<const T *>(t.k), *v = static_cast<const T *>(t.v);
    const T *dO = static_cast<const T *>(t.dO);
    ATTN_TRY(pair_dot(PairOut::kProbs, p, q, k, p.d, t.lse, t.lse_lo, s, stream));
    ATTN_TRY(scratch_matmul(true, p, s, dO, p.dv, 1.0f, static_cast<T *>(t.dv), stream));
    ATTN_TRY(pair_dot(PairOut::kDScores, p, dO, v, p.dv, t.delta, nullptr, s, stream));
    ATTN_TRY(scratch_matmul(false, p, s, k, p.d, p.scale, static_cast<T *>(t.dq), stream));
    ATTN_TRY(scratch_matmul(true, p, s, q, p.d, p.scale, static_cast<T *>(t.dk), stream));
    return cudaSuccess;
  });
}
