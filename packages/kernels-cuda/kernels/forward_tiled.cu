// forward_tiled.cu — stage 2 (O given lse) of the tiled CUDA attention: launcher and per-head-dim dispatch.
//
// Kernels (numbered, llm.c style; the launcher picks one):
//   version 1 (forward_tiled_kernel1, tiled/forward_kernel.cuh): SIMT fp32, Q tile + lse in shared memory, K/V tiles
//     streamed, P = exp(S - lse) parked in shared memory, O accumulated in register micro-tiles. No running max.
//   version 2 (forward_tiled_kernel2, tiled/forward_kernel2.cuh): tensor cores, mma.sync m16n8k8 with the 3xTF32
//     split (float32-level), 4 warps x 16 query rows, buckets D = 64 and 128 only (others run version 1).
//   version 3 (forward_tiled_kernel3, tiled/forward_kernel3.cuh): version 2 with K/V split into TF32 hi/lo once per
//     block, cp.async double-buffered K/V, 8 warps (D = 64: 128 query rows; D = 128: warp pairs split keys/columns).
//   version 4 (forward_tiled_kernel4, tiled/forward_kernel4.cuh): every operand pre-split in mma fragment order
//     (one LDS.128 + 3 mma per B fragment), P kept in registers, one mma chain per score / per output tile, masks
//     only on boundary tiles, P = exp2 of (S·scale - lse)·log2e - lse_lo·log2e (two fmaf; lse_pair.cuh).
// Selection: ATTN_CUDA_TILED_FWD=N, else ATTN_CUDA_TILED_KERNEL=N (tiled/version.cuh; read once).
// Head dims are bucketed to 32/64/128/256 (tiled/traits.cuh); d, dv <= 256.
// Compile alone: nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Xptxas -v -c forward_tiled.cu
#include "attention.h"
#include "tiled/forward_kernel.cuh"
#include "tiled/forward_kernel2.cuh"
#include "tiled/forward_kernel3.cuh"
#include "tiled/forward_kernel4.cuh"
#include "tiled/version.cuh"

namespace attn_tiled {

template <int D>
static cudaError_t forward_tiled1(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(p.nq, FwdTraits<D>::BQ), &grid)) return cudaErrorInvalidConfiguration;
  const cudaError_t e = allow_smem(forward_tiled_kernel1<D>, FwdSmem<D>::bytes);
  if (e != cudaSuccess) return e;
  forward_tiled_kernel1<D><<<grid, kThreads, FwdSmem<D>::bytes, stream>>>(p, t.q, t.k, t.v, t.lse, t.lse_lo,
                                                                           t.o);
  return cudaGetLastError();
}

template <int D>
static cudaError_t forward_tiled2(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using T = Fwd2Traits<D>;
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(p.nq, T::BQ), &grid)) return cudaErrorInvalidConfiguration;
  const cudaError_t e = allow_smem(forward_tiled_kernel2<D>, T::bytes);
  if (e != cudaSuccess) return e;
  forward_tiled_kernel2<D><<<grid, T::NT, T::bytes, stream>>>(p, t.q, t.k, t.v, t.lse, t.lse_lo, t.o);
  return cudaGetLastError();
}

template <int D>
static cudaError_t forward_tiled3(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using T = Fwd3Traits<D>;
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(p.nq, T::BQ), &grid)) return cudaErrorInvalidConfiguration;
  const auto kernel = fwd3_vec(p, t.k, t.v) ? forward_tiled_kernel3<D, true> : forward_tiled_kernel3<D, false>;
  const cudaError_t e = allow_smem(kernel, T::bytes);
  if (e != cudaSuccess) return e;
  kernel<<<grid, T::NT, T::bytes, stream>>>(p, t.q, t.k, t.v, t.lse, t.lse_lo, t.o);
  return cudaGetLastError();
}

template <int D, int CFG>
static cudaError_t forward_tiled4(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using T = Fwd4Traits<D, CFG>;
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(p.nq, T::BQ), &grid)) return cudaErrorInvalidConfiguration;
  const auto kernel = long_score_chains() ? forward_tiled_kernel4<D, CFG, true> : forward_tiled_kernel4<D, CFG, false>;
  const cudaError_t e = allow_smem(kernel, T::bytes);
  if (e != cudaSuccess) return e;
  kernel<<<grid, T::NT, T::bytes, stream>>>(p, t.q, t.k, t.v, t.lse, t.lse_lo, t.o);
  return cudaGetLastError();
}

template <int D>
static cudaError_t forward_tiled_v(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  switch (stage_version(Stage::Fwd)) {
    case 4:
      return shape_for<Fwd4Traits<D, 0>>(p) == 1 ? forward_tiled4<D, 1>(p, t, stream) : forward_tiled4<D, 0>(p, t, stream);
    case 3: return forward_tiled3<D>(p, t, stream);
    case 2: return forward_tiled2<D>(p, t, stream);
    default: return forward_tiled1<D>(p, t, stream);
  }
}

}  // namespace attn_tiled

cudaError_t attn_forward_tiled(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn_tiled;
  const cudaError_t bad = check_problem(p);
  if (bad != cudaSuccess) return bad;
  switch (head_bucket(p)) {
    case 32: return forward_tiled1<32>(p, t, stream);
    case 64: return forward_tiled_v<64>(p, t, stream);
    case 128: return forward_tiled_v<128>(p, t, stream);
    default: return forward_tiled1<256>(p, t, stream);
  }
}
