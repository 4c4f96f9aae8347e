// attention.h — the C++ interface between the kernel files (kernels/*.cu) and the Node binding (src/binding/*.cpp).
//
// Layout (row-major): Q [bh, nq, d], K [bh, nk, d], V [bh, nk, dv], dO and O [bh, nq, dv] stored in the problem's
// dtype (float, __half or __nv_bfloat16: dtype.h, storage.cuh), lse, lse_lo and delta [bh, nq] float32 in every dtype. Causal is bottom-right aligned: query i sees key j iff j <= i + (nk - nq); a row that sees no key
// has lse = -inf (lse_lo = 0), O = 0, dQ = 0. Contract in full: packages/reference.
// lse is kept as a double-float pair: lse (the public value, fl(m + log l)) and lse_lo, its rounding error, so that
// P = exp(s - lse) stays float32-exact when |lse| is large (lse_pair.cuh says why and how every kernel uses it).
// Stage 1 writes both; stages 2 and 3 read both. A caller that sets lse itself sets lse_lo to 0.
//
// Every launcher enqueues its kernels on `stream`, checks the launch, and returns the first CUDA error (never
// exits, never synchronizes). Scratch memory is the caller's: ask the *_scratch_bytes function first.
#pragma once
#include <cstddef>
#include <cuda_runtime.h>
#include "dtype.h"
#include "tiled/versions.h"

struct AttnProblem {
  int bh, nq, nk, d, dv;
  float scale;
  bool causal;
  AttnDtype dtype;  // storage of q, k, v, dO, o, dq, dk, dv (value-initialised: float32)
};

// Pointers to tensors in the problem's dtype are untyped: a launcher casts them to its storage type (storage.cuh).
struct AttnTensors {
  const void *q, *k, *v, *dO;   // inputs (dO only for backward), in p.dtype
  float *lse;                   // stage 1 output, read by stages 2 and 3: hi part of the lse pair [bh, nq]
  float *lse_lo;                // its lo part [bh, nq] (the binding's lse buffer is 2 * bh * nq: hi, then lo)
  void *o;                      // stage 2 output, read by stage 3 (for delta), in p.dtype
  void *dq, *dk, *dv;           // stage 3 outputs, in p.dtype
  float *delta;                 // [bh, nq] stage 3 pre-pass: delta_i = dO_i . O_i (float32)
  void *scratch;                // variant-specific workspace (naive: score matrices), scratchBytes long
  size_t scratchBytes;
};

// ---- naive: scores (and P, dS in backward) live in global memory; any d ----------------------------------------
size_t attn_naive_scratch_bytes(const AttnProblem &p);  // may be huge: the binding reports it in OOM errors
cudaError_t attn_lse_naive(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream);
cudaError_t attn_forward_naive(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream);
cudaError_t attn_backward_naive(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream);

// ---- tiled: Q/K/V tiles in shared memory, scores never leave the chip; d, dv <= attn_tiled_max_d() -------------
// Each stage has numbered versions (tiled/versions.h); `choice` says which (kAttnTiledDefaults: the defaults). The
// plan functions say what a launcher runs for p under a choice (fallbacks, tile shape): the launcher runs that plan.
// A choice naming a version the table lacks: plan.version = 0 and the launcher returns cudaErrorInvalidValue.
int attn_tiled_max_d();
size_t attn_tiled_scratch_bytes(const AttnProblem &p);  // O(bh * n) at most
AttnTiledPlan attn_lse_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice);
AttnTiledPlan attn_forward_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice);
AttnTiledPlan attn_backward_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice);
cudaError_t attn_lse_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice, cudaStream_t stream);
cudaError_t attn_forward_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice,
                               cudaStream_t stream);
cudaError_t attn_backward_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice,
                                cudaStream_t stream);

// ---- shared by both variants ------------------------------------------------------------------------------------
// delta_i = sum_c dO_ic * O_ic, one warp per row (the backward pre-pass).
cudaError_t attn_backward_delta(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream);
// Fill n elements of `dtype` with its poison NaN: float32 0x7fdead00, float16 0x7e5d, bfloat16 0x7fde (poison.cu;
// packages/reference/src/poison.ts).
cudaError_t attn_poison(void *x, size_t n, AttnDtype dtype, cudaStream_t stream);
