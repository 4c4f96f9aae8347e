// backward_tiled.cu — stage 3 (dQ, dK, dV reusing lse) of the tiled CUDA attention: launcher and dispatch.
//
// Order on the stream: attn_backward_delta (delta_i = dO_i . O_i, backward_delta.cu), then the dK/dV pass over key
// tiles, then the dQ pass over query tiles. Deterministic: no atomics, every output element has one writer.
// Kernels (numbered, llm.c style):
//   version 1 (backward_dkdv_tiled_kernel1, backward_dq_tiled_kernel1, tiled/backward_kernel.cuh): SIMT fp32,
//     register micro-tiles, P and dS recomputed per tile and parked in shared memory.
//   version 2 (backward_dkdv_tiled_kernel2, backward_dq_tiled_kernel2, tiled/backward_kernel2.cuh): the same two
//     passes with all products on tensor cores (mma.sync 3xTF32, short chains), 4 warps x 16 rows per block,
//     buckets D = 64 and 128 only (others run version 1).
//   version 3 (backward_dkdv_tiled_kernel3, backward_dq_tiled_kernel3, tiled/backward_kernel3.cuh): the same two
//     passes with operands pre-split into TF32 hi/lo in mma fragment order (tiled/tf32_frags.cuh), P and dS kept in
//     registers, masks only on boundary tiles; D = 64 and 128 only (others run version 1).
// Selection: ATTN_CUDA_TILED_BWD=N, else ATTN_CUDA_TILED_KERNEL=N: the newest version <= N (tiled/version.cuh;
// default 1).
// Head dims are bucketed to 32/64/128/256 (tiled/traits.cuh); d, dv <= 256.
// Compile alone: nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Xptxas -v -c backward_tiled.cu
#include "attention.h"
#include "tiled/backward_kernel.cuh"
#include "tiled/backward_kernel2.cuh"
#include "tiled/backward_kernel3.cuh"
#include "tiled/version.cuh"

namespace attn_tiled {

template <int D>
static cudaError_t backward_tiled1(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  unsigned gridKV, gridQ;
  if (!tile_grid(p.bh, ceil_div(p.nk, BwdKVTraits<D>::BK), &gridKV)) return cudaErrorInvalidConfiguration;
  if (!tile_grid(p.bh, ceil_div(p.nq, BwdQTraits<D>::BQ), &gridQ)) return cudaErrorInvalidConfiguration;
  cudaError_t e = allow_smem(backward_dkdv_tiled_kernel1<D>, BwdKVSmem<D>::bytes);
  if (e != cudaSuccess) return e;
  e = allow_smem(backward_dq_tiled_kernel1<D>, BwdQSmem<D>::bytes);
  if (e != cudaSuccess) return e;

  e = attn_backward_delta(p, t, stream);
  if (e != cudaSuccess) return e;
  backward_dkdv_tiled_kernel1<D><<<gridKV, kThreads, BwdKVSmem<D>::bytes, stream>>>(
      p, t.q, t.k, t.v, t.dO, t.lse, t.lse_lo, t.delta, t.dk, t.dv);
  e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  backward_dq_tiled_kernel1<D><<<gridQ, kThreads, BwdQSmem<D>::bytes, stream>>>(p, t.q, t.k, t.v, t.dO, t.lse,
                                                                                t.lse_lo, t.delta, t.dq);
  return cudaGetLastError();
}

template <int D>
static cudaError_t backward_tiled2(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using KV = BwdKV2Traits<D>;
  using Q = BwdQ2Traits<D>;
  unsigned gridKV, gridQ;
  if (!tile_grid(p.bh, ceil_div(p.nk, KV::BK), &gridKV)) return cudaErrorInvalidConfiguration;
  if (!tile_grid(p.bh, ceil_div(p.nq, Q::BQ), &gridQ)) return cudaErrorInvalidConfiguration;
  cudaError_t e = allow_smem(backward_dkdv_tiled_kernel2<D>, KV::bytes);
  if (e != cudaSuccess) return e;
  e = allow_smem(backward_dq_tiled_kernel2<D>, Q::bytes);
  if (e != cudaSuccess) return e;

  e = attn_backward_delta(p, t, stream);
  if (e != cudaSuccess) return e;
  backward_dkdv_tiled_kernel2<D><<<gridKV, KV::NT, KV::bytes, stream>>>(p, t.q, t.k, t.v, t.dO, t.lse, t.lse_lo,
                                                                        t.delta, t.dk, t.dv);
  e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  backward_dq_tiled_kernel2<D><<<gridQ, Q::NT, Q::bytes, stream>>>(p, t.q, t.k, t.v, t.dO, t.lse, t.lse_lo, t.delta,
                                                                   t.dq);
  return cudaGetLastError();
}

template <int D>
static cudaError_t backward_tiled3(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using KV = BwdKV3Traits<D>;
  using Q = BwdQ3Traits<D>;
  unsigned gridKV, gridQ;
  if (!tile_grid(p.bh, ceil_div(p.nk, KV::BK), &gridKV)) return cudaErrorInvalidConfiguration;
  if (!tile_grid(p.bh, ceil_div(p.nq, Q::BQ), &gridQ)) return cudaErrorInvalidConfiguration;
  const bool longChains = long_score_chains();
  const auto dkdv = longChains ? backward_dkdv_tiled_kernel3<D, true> : backward_dkdv_tiled_kernel3<D, false>;
  const auto dq = longChains ? backward_dq_tiled_kernel3<D, true> : backward_dq_tiled_kernel3<D, false>;
  cudaError_t e = allow_smem(dkdv, KV::bytes);
  if (e != cudaSuccess) return e;
  e = allow_smem(dq, Q::bytes);
  if (e != cudaSuccess) return e;

  e = attn_backward_delta(p, t, stream);
  if (e != cudaSuccess) return e;
  dkdv<<<gridKV, KV::NT, KV::bytes, stream>>>(p, t.q, t.k, t.v, t.dO, t.lse, t.lse_lo, t.delta, t.dk, t.dv);
  e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  dq<<<gridQ, Q::NT, Q::bytes, stream>>>(p, t.q, t.k, t.v, t.dO, t.lse, t.lse_lo, t.delta, t.dq);
  return cudaGetLastError();
}

// Version 3, 2 or 1 for the D = 64 and 128 buckets.
template <int D>
static cudaError_t backward_tiled_mma(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  switch (stage_version(Stage::Bwd)) {
    case 3: return backward_tiled3<D>(p, t, stream);
    case 2: return backward_tiled2<D>(p, t, stream);
    default: return backward_tiled1<D>(p, t, stream);
  }
}

}  // namespace attn_tiled

cudaError_t attn_backward_tiled(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn_tiled;
  const cudaError_t bad = check_problem(p);
  if (bad != cudaSuccess) return bad;
  switch (head_bucket(p)) {
    case 32: return backward_tiled1<32>(p, t, stream);
    case 64: return backward_tiled_mma<64>(p, t, stream);
    case 128: return backward_tiled_mma<128>(p, t, stream);
    default: return backward_tiled1<256>(p, t, stream);
  }
}
