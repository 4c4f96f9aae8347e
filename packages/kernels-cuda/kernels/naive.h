// naive.h — the building blocks the three naive stages share (kernels/naive_*.cu). Internal to this package: the
// binding sees only attention.h.
//
// All of them work on one score-sized matrix in global memory, scratch [bh, nq, nk] (float32 in every dtype), which
// holds S, then P, then dS as the stages need; attn_naive_scratch_bytes() is its size. The problem-dtype operands
// (Q, K, V, dO) and outputs (O, dQ, dK, dV) are in the storage type T (float, __half, __nv_bfloat16: storage.cuh):
// read as float, every sum float32, each output rounded once when stored.
#pragma once
#include "attention.h"

namespace attn {

// What pair_dot writes into scratch at (b, i, j), from x = A_i . B_j (A rows are queries, B rows keys):
enum class PairOut {
  kScores,   // S_raw = x (not scaled: stage 1 scales it, lse_pair.cuh), -inf where masked   (A = Q, B = K)
  kProbs,    // P = exp((scale x - lse_i) - lse_lo_i), 0 where masked or lse_i = -inf
             //                                                   (A = Q, B = K, row = lse, row2 = lse_lo)
  kDScores,  // in place over P: dS = P * (x - delta_i), 0 where masked      (A = dO, B = V, row = delta)
};

// row2: lse_lo for kProbs, else unused (may be null). Instantiated for the three storage types.
template <class T>
cudaError_t pair_dot(PairOut what, const AttnProblem &p, const T *a, const T *b, int len, const float *row,
                     const float *row2, float *scratch, cudaStream_t stream);

// out = alpha * scratch @ b       (out rows: queries; b [bh, nk, cols]), e.g. O = P V, dQ = scale dS K
// out = alpha * scratch^T @ b     (out rows: keys;    b [bh, nq, cols]), e.g. dV = P^T dO, dK = scale dS^T Q
// Causally invisible entries of scratch must already be 0 (pair_dot's kProbs / kDScores write them so).
// Instantiated for the three storage types.
template <class T>
cudaError_t scratch_matmul(bool transposed, const AttnProblem &p, const float *scratch, const T *b, int cols,
                           float alpha, T *out, cudaStream_t stream);

}  // namespace attn
