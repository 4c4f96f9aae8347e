// poison.cu — fill a float buffer with the poison NaN 0x7fdead00 (packages/reference/src/poison.ts), so an output
// element a kernel never writes is told apart from any NaN a kernel computes (GPUs produce 0x7fc00000).
// One thread per 32-bit word, grid-stride.
#include <cstdint>
#include "common.cuh"

namespace attn {
namespace {

constexpr uint32_t kPoisonBits = 0x7fdead00u;
constexpr unsigned kBlock = 256;

__global__ void poison_kernel(uint32_t *__restrict__ x, size_t n) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) x[i] = kPoisonBits;
}

}  // namespace
}  // namespace attn

cudaError_t attn_poison(float *x, size_t n, cudaStream_t stream) {
  using namespace attn;
  if (n == 0) return cudaSuccess;
  poison_kernel<<<blocks_for(n, kBlock), kBlock, 0, stream>>>(reinterpret_cast<uint32_t *>(x), n);
  ATTN_TRY_LAUNCH();
  return cudaSuccess;
}
