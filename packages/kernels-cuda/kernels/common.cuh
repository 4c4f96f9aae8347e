// common.cuh — small helpers shared by the naive and shared kernel files (not by the interface: see attention.h).
#pragma once
#include <cstddef>
#include <cuda_runtime.h>
#include "attention.h"

// Return the first CUDA error of a launcher to its caller (the binding names the launcher and the problem).
#define ATTN_TRY(expr)                      \
  do {                                      \
    cudaError_t attn_err_ = (expr);         \
    if (attn_err_ != cudaSuccess) return attn_err_; \
  } while (0)

// Check the launch just enqueued (bad configuration, missing image for this card).
#define ATTN_TRY_LAUNCH() ATTN_TRY(cudaGetLastError())

// kernel<<<grid, block, smem, stream>>>, spelled as a macro so that the CPU emulator (tiled/emu) runs every kernel
// through the same launchers: ATTN_LAUNCH(kernel, grid, block, smem, stream)(args...).
#ifdef ATTN_TILED_EMU
#define ATTN_LAUNCH(kernel, grid, block, smem, stream) attn_emu_launch(kernel, grid, block, smem)
#else
#define ATTN_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#endif

namespace attn {

constexpr int kWarp = 32;

// 1-D grids only: gridDim.x may reach 2^31 - 1, but we cap it and let kernels loop (grid-stride), so any bh * n works
// and the launch stays cheap. Indices inside kernels are size_t: bh * nq * nk passes 2^32 at bh=16, n=16384.
constexpr unsigned kMaxBlocks = 1u << 20;

inline unsigned blocks_for(size_t work_items, unsigned block_size) {
  size_t blocks = (work_items + block_size - 1) / block_size;
  if (blocks == 0) blocks = 1;
  return blocks > kMaxBlocks ? kMaxBlocks : static_cast<unsigned>(blocks);
}

// Number of keys query row i may see (keys 0 .. visible-1); causal is bottom-right aligned.
__host__ __device__ inline int visible_keys(const AttnProblem &p, int i) {
  if (!p.causal) return p.nk;
  long long v = static_cast<long long>(i) + p.nk - p.nq + 1;
  return v < 0 ? 0 : (v > p.nk ? p.nk : static_cast<int>(v));
}

// First query row that sees key j (rows before it have P_ij = 0); nq when none does.
__host__ __device__ inline int first_query_seeing(const AttnProblem &p, int j) {
  if (!p.causal) return 0;
  long long i = static_cast<long long>(j) - (p.nk - p.nq);
  return i < 0 ? 0 : (i > p.nq ? p.nq : static_cast<int>(i));
}

__device__ inline float warp_sum(float x) {
  for (int off = kWarp / 2; off > 0; off >>= 1) x += __shfl_xor_sync(0xffffffffu, x, off);
  return x;
}

__device__ inline float warp_max(float x) {
  for (int off = kWarp / 2; off > 0; off >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, off));
  return x;
}

}  // namespace attn
