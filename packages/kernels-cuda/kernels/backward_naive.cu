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
// Limits: any d, dv; scratch bh * nq * nk floats.
#include "common.cuh"
#include "naive.h"

cudaError_t attn_backward_naive(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn;
  if (t.scratchBytes < attn_naive_scratch_bytes(p)) return cudaErrorInvalidValue;
  if (p.dtype != AttnDtype::kFloat32) return cudaErrorInvalidValue;
  float *s = static_cast<float *>(t.scratch);
  ATTN_TRY(attn_backward_delta(p, t, stream));
  ATTN_TRY(pair_dot(PairOut::kProbs, p, static_cast<const float *>(t.q), static_cast<const float *>(t.k), p.d, t.lse, t.lse_lo, s, stream));
  ATTN_TRY(scratch_matmul(true, p, s, static_cast<const float *>(t.dO), p.dv, 1.0f, static_cast<float *>(t.dv), stream));
  ATTN_TRY(pair_dot(PairOut::kDScores, p, static_cast<const float *>(t.dO), static_cast<const float *>(t.v), p.dv, t.delta, nullptr, s, stream));
  ATTN_TRY(scratch_matmul(false, p, s, static_cast<const float *>(t.k), p.d, p.scale, static_cast<float *>(t.dq), stream));
  ATTN_TRY(scratch_matmul(true, p, s, static_cast<const float *>(t.q), p.d, p.scale, static_cast<float *>(t.dk), stream));
  return cudaSuccess;
}
