// lse_tiled.cu — stage 1 (lse) of the tiled CUDA attention: launcher and per-head-dim dispatch.
//
// Kernels (numbered, llm.c style; the launcher picks one):
//   version 1 (lse_tiled_kernel1, tiled/lse_kernel.cuh): SIMT fp32, Q tile in shared memory, key tiles streamed,
//     register micro-tiles, running (max, sum) per row, the lse pair (hi, lo; lse_pair.cuh). Exact to fp32
//     (expf/logf, fp32 FMA), no tensor cores.
//   version 2 (lse_tiled_kernel2, tiled/lse_kernel2.cuh): scores on tensor cores (mma.sync 3xTF32, short chains),
//     4 warps x 16 query rows, buckets D = 64 and 128 only (others run version 1).
//   version 3 (lse_tiled_kernel3, tiled/lse_kernel3.cuh): operands pre-split in mma fragment order (tiled/tf32_frags.cuh),
//     one mma chain per score over d, masks only on boundary tiles, exp2 of (S·scale - max)·log2e, the lse pair
//     (lse_pair.cuh).
// Selection: ATTN_CUDA_TILED_LSE=N, else ATTN_CUDA_TILED_KERNEL=N (tiled/version.cuh).
// Head dims are bucketed to 32/64/128/256 (tiled/traits.cuh); d <= attn_tiled_max_d() = 256.
// Compile alone: nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Xptxas -v -c lse_tiled.cu
#include "attention.h"
#include "tiled/lse_kernel.cuh"
#include "tiled/lse_kernel2.cuh"
#include "tiled/lse_kernel3.cuh"
#include "tiled/version.cuh"

namespace attn_tiled {

template <int D>
static cudaError_t lse_tiled1(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(p.nq, FwdTraits<D>::BQ), &grid)) return cudaErrorInvalidConfiguration;
  const cudaError_t e = allow_smem(lse_tiled_kernel1<D>, LseSmem<D>::bytes);
  if (e != cudaSuccess) return e;
  lse_tiled_kernel1<D><<<grid, kThreads, LseSmem<D>::bytes, stream>>>(p, t.q, t.k, t.lse, t.lse_lo);
  return cudaGetLastError();
}

template <int D>
static cudaError_t lse_tiled2(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using T = Lse2Traits<D>;
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(p.nq, T::BQ), &grid)) return cudaErrorInvalidConfiguration;
  const cudaError_t e = allow_smem(lse_tiled_kernel2<D>, T::bytes);
  if (e != cudaSuccess) return e;
  lse_tiled_kernel2<D><<<grid, T::NT, T::bytes, stream>>>(p, t.q, t.k, t.lse, t.lse_lo);
  return cudaGetLastError();
}

template <int D, int CFG>
static cudaError_t lse_tiled3(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using T = Lse3Traits<D, CFG>;
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(p.nq, T::BQ), &grid)) return cudaErrorInvalidConfiguration;
  const auto kernel = long_score_chains() ? lse_tiled_kernel3<D, CFG, true> : lse_tiled_kernel3<D, CFG, false>;
  const cudaError_t e = allow_smem(kernel, T::bytes);
  if (e != cudaSuccess) return e;
  kernel<<<grid, T::NT, T::bytes, stream>>>(p, t.q, t.k, t.lse, t.lse_lo);
  return cudaGetLastError();
}

template <int D>
static cudaError_t lse_tiled_v(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  switch (stage_version(Stage::Lse)) {
    case 3: return shape_for<Lse3Traits<D, 0>>(p) == 1 ? lse_tiled3<D, 1>(p, t, stream) : lse_tiled3<D, 0>(p, t, stream);
    case 2: return lse_tiled2<D>(p, t, stream);
    default: return lse_tiled1<D>(p, t, stream);
  }
}

}  // namespace attn_tiled

int attn_tiled_max_d() { return attn_tiled::kMaxD; }

// Version 1 needs no workspace: delta has its own buffer in AttnTensors.
size_t attn_tiled_scratch_bytes(const AttnProblem &) { return 0; }

cudaError_t attn_lse_tiled(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn_tiled;
  const cudaError_t bad = check_problem(p);
  if (bad != cudaSuccess) return bad;
  switch (head_bucket(p)) {
    case 32: return lse_tiled1<32>(p, t, stream);
    case 64: return lse_tiled_v<64>(p, t, stream);
    case 128: return lse_tiled_v<128>(p, t, stream);
    default: return lse_tiled1<256>(p, t, stream);
  }
}
