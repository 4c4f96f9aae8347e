// lse_tiled.cu — stage 1 (lse) of the tiled CUDA attention: launcher and per-head-dim dispatch.
//
// Kernels (numbered, llm.c style; the launcher picks one):
//   version 1 (lse_tiled_kernel1, tiled/lse_kernel.cuh): SIMT fp32, Q tile in shared memory, key tiles streamed,
//     register micro-tiles, running (max, sum) per row. Exact to fp32 (expf/logf, fp32 FMA), no tensor cores.
// Head dims are bucketed to 32/64/128/256 (tiled/traits.cuh); d <= attn_tiled_max_d() = 256.
// Compile alone: nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Xptxas -v -c lse_tiled.cu
#include "attention.h"
#include "tiled/lse_kernel.cuh"

namespace attn_tiled {

template <int D>
static cudaError_t lse_tiled1(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(p.nq, FwdTraits<D>::BQ), &grid)) return cudaErrorInvalidConfiguration;
  const cudaError_t e = allow_smem(lse_tiled_kernel1<D>, LseSmem<D>::bytes);
  if (e != cudaSuccess) return e;
  lse_tiled_kernel1<D><<<grid, kThreads, LseSmem<D>::bytes, stream>>>(p, t.q, t.k, t.lse);
  return cudaGetLastError();
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
    case 64: return lse_tiled1<64>(p, t, stream);
    case 128: return lse_tiled1<128>(p, t, stream);
    default: return lse_tiled1<256>(p, t, stream);
  }
}
