// backward_delta.cu — the backward pre-pass shared by both variants: delta_i = sum_c dO_ic * O_ic.
//
// One warp per query row: lanes stride along the dv columns (coalesced reads of dO and O), a shuffle reduction, lane 0
// writes. 1-D grid, warps loop over rows, so any bh * nq. Fully masked rows have O = 0, hence delta = 0.
// Dtypes: dO and O in the problem's storage type (the stored, rounded O), read as float; delta is float32.
#include "common.cuh"
#include "storage.cuh"

namespace attn {
namespace {

constexpr unsigned kBlock = 256;

template <class T>
__global__ void delta_kernel(const T *__restrict__ dO, const T *__restrict__ o, size_t rows, int dv,
                             float *__restrict__ delta) {
  const int lane = threadIdx.x % kWarp;
  const size_t warps = static_cast<size_t>(gridDim.x) * (blockDim.x / kWarp);
  for (size_t r = (static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; r < rows; r += warps) {
    const T *a = dO + r * dv;
    const T *b = o + r * dv;
    float sum = 0.0f;
    for (int c = lane; c < dv; c += kWarp) sum = fmaf(to_float(a[c]), to_float(b[c]), sum);
    sum = warp_sum(sum);
    if (lane == 0) delta[r] = sum;
  }
}

}  // namespace
}  // namespace attn

cudaError_t attn_backward_delta(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
  using namespace attn;
  const size_t rows = static_cast<size_t>(p.bh) * p.nq;
  return with_dtype(p.dtype, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    ATTN_LAUNCH(delta_kernel<T>, blocks_for(rows * kWarp, kBlock), kBlock, 0, stream)(
        static_cast<const T *>(t.dO), static_cast<const T *>(t.o), rows, p.dv, t.delta);
    ATTN_TRY_LAUNCH();
    return cudaSuccess;
  });
}
