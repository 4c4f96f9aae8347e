// backward_delta.cu — the backward pre-pass shared by both variants: delta_i = sum_c dO_ic * O_ic.
//
// One warp per query row: lanes stride along the dv columns (coalesced reads of dO and O), a shuffle reduction, lane 0
// writes. 1-D grid, warps loop over rows, so any bh * nq. Fully masked rows have O = 0, hence delta = 0.
#include "common.cuh"

namespace attn {
namespace {

constexpr unsigned kBlock = 256;

__global__ void delta_kernel(const float *__restrict__ dO, const float *__restrict__ o, size_t rows, int dv,
                             float *__restrict__ delta) {
  const int lane = threadIdx.x % kWarp;
  const size_t warps = static_cast<size_t>(gridDim.x) * (blockDim.x / kWarp);
  for (size_t r = (static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; r < rows; r += warps) {
    const float *a = dO + r * dv;
    const float *b = o + r * dv;
    float sum = 0.0f;
    for (int c = lane; c < dv; c += kWarp) sum = fmaf(a[c], b[c], sum);
    sum = warp_sum(sum);
    if (lane == 0) delta[r] = sum;
  }
}

}  // namespace
}  // namespace attn

cudaError_t attn_backward_delta(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn;
  const size_t rows = static_cast<size_t>(p.bh) * p.nq;
  ATTN_LAUNCH(delta_kernel, blocks_for(rows * kWarp, kBlock), kBlock, 0, stream)(static_cast<const float *>(t.dO), static_cast<float *>(t.o), rows, p.dv, t.delta);
  ATTN_TRY_LAUNCH();
  return cudaSuccess;
}
