// poison.cu — fill an output buffer with a poison NaN of its dtype, so an output element a kernel never writes is told
// apart from any NaN a kernel computes (GPUs produce 0x7fc00000, 0x7fff, 0x7fff): float32 0x7fdead00, float16 0x7e5d,
// bfloat16 0x7fde (packages/reference/src/poison.ts, which also knows the two half patterns widened to float32 exactly,
// as a session reads them back: 0x7fcba000 and 0x7fde0000). One thread per element, grid-stride.
#include <cstdint>
#include "common.cuh"

namespace attn {
namespace {

constexpr uint32_t kPoisonF32 = 0x7fdead00u;
constexpr uint16_t kPoisonF16 = 0x7e5du, kPoisonBF16 = 0x7fdeu;
constexpr unsigned kBlock = 256;

template <class W, W kBits>
__global__ void poison_kernel(W *__restrict__ x, size_t n) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) x[i] = kBits;
}

template <class W, W kBits>
cudaError_t poison(void *x, size_t n, cudaStream_t stream) {
  poison_kernel<W, kBits><<<blocks_for(n, kBlock), kBlock, 0, stream>>>(static_cast<W *>(x), n);
  ATTN_TRY_LAUNCH();
  return cudaSuccess;
}

}  // namespace
}  // namespace attn

cudaError_t attn_poison(void *x, size_t n, AttnDtype dtype, cudaStream_t stream) {
  using namespace attn;
  if (n == 0) return cudaSuccess;
  switch (dtype) {
    case AttnDtype::kFloat32: return poison<uint32_t, kPoisonF32>(x, n, stream);
    case AttnDtype::kFloat16: return poison<uint16_t, kPoisonF16>(x, n, stream);
    case AttnDtype::kBFloat16: return poison<uint16_t, kPoisonBF16>(x, n, stream);
  }
  return cudaErrorInvalidValue;
}
