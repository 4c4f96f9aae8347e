// lse_tiled.cu — stage 1 (lse) of the tiled CUDA attention: a launcher per kernel version, dispatched by the version
// table (tiled/versions.h, tiled/dispatch.cuh).
//
// Kernels (numbered, llm.c style):
//   version 1 (lse_tiled_kernel1, tiled/lse_kernel.cuh): SIMT fp32, Q tile in shared memory, key tiles streamed,
//     register micro-tiles, running (max, sum) per row, the lse pair (hi, lo; lse_pair.cuh). Exact to fp32
//     (expf/logf, fp32 FMA), no tensor cores. Every bucket.
//   version 2 (lse_tiled_kernel2, tiled/lse_kernel2.cuh): scores on tensor cores (mma.sync 3xTF32, short chains),
//     4 warps x 16 query rows. Buckets D = 64 and 128.
//   version 3 (lse_tiled_kernel3, tiled/lse_kernel3.cuh): operands pre-split in mma fragment order (tiled/tf32_frags.cuh),
//     one mma chain per score over d, masks only on boundary tiles, exp2 of (S·scale - max)·log2e, the lse pair
//     (lse_pair.cuh). Buckets D = 64 and 128; two tile shapes (the shape knob) and short or long score chains.
// Head dims are bucketed to 32/64/128/256 (tiled/traits.cuh); d <= attn_tiled_max_d() = 256.
// Compile alone: nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Xptxas -v -c lse_tiled.cu
#include "attention.h"
#include "tiled/dispatch.cuh"
#include "tiled/lse_kernel.cuh"
#include "tiled/lse_kernel2.cuh"
#include "tiled/lse_kernel3.cuh"
#include "tiled/lse_kernel4.cuh"

namespace attn_tiled {

template <int V> struct Lse;

template <> struct Lse<1> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    return launch_tiles(lse_tiled_kernel1<D, T>, p, p.nq, FwdTraits<D>::BQ, kThreads, LseSmem<D>::bytes, stream, p, x.q,
                        x.k, t.lse, t.lse_lo);
  }
};

template <> struct Lse<2> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    using Tr = Lse2Traits<D>;
    return launch_tiles(lse_tiled_kernel2<D>, p, p.nq, Tr::BQ, Tr::NT, Tr::bytes, stream, p, x.q, x.k, t.lse, t.lse_lo);
  }
};

template <> struct Lse<3> {
  template <int D>
  static int automatic_shape(const AttnProblem &p) { return shape_for<Lse3Traits<D, 0>>(p); }

  template <int D, class T, int CFG>
  static cudaError_t run(const AttnProblem &p, const AttnTensors &t, bool longScores, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    using Tr = Lse3Traits<D, CFG>;
    const auto kernel = longScores ? lse_tiled_kernel3<D, CFG, true> : lse_tiled_kernel3<D, CFG, false>;
    return launch_tiles(kernel, p, p.nq, Tr::BQ, Tr::NT, Tr::bytes, stream, p, x.q, x.k, t.lse, t.lse_lo);
  }

  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &plan, cudaStream_t stream) {
    return plan.shape == 1 ? run<D, T, 1>(p, t, plan.longScores, stream) : run<D, T, 0>(p, t, plan.longScores, stream);
  }
};

template <> struct Lse<4> {
  template <int D>
  static int automatic_shape(const AttnProblem &p) { return shape_for<Lse4Traits<D, 0>>(p); }

  template <int D, int CFG, class T>
  static cudaError_t run(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
    using Tr = Lse4Traits<D, CFG>;
    const auto *q = static_cast<const uint16_t *>(t.q), *k = static_cast<const uint16_t *>(t.k);
    const bool vec = p.d % 8 == 0 && aligned16(q) && aligned16(k);
    return launch_tiles(lse_tiled_kernel4<D, CFG, attn::dtype_of_v<T> == AttnDtype::kBFloat16>, p, p.nq, Tr::BQ, Tr::NT,
                        Tr::bytes, stream, p, q, k, t.lse, t.lse_lo, vec);
  }

  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &plan, cudaStream_t stream) {
    return plan.shape == 1 ? run<D, 1, T>(p, t, stream) : run<D, 0, T>(p, t, stream);
  }
};

}  // namespace attn_tiled

int attn_tiled_max_d() { return attn_tiled::kMaxD; }

// No tiled version needs a workspace: delta has its own buffer in AttnTensors.
size_t attn_tiled_scratch_bytes(const AttnProblem &) { return 0; }

AttnTiledPlan attn_lse_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice) {
  return attn_tiled::plan_stage<attn_tiled::Stage::kLse, attn_tiled::Lse>(p, choice);
}

cudaError_t attn_lse_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice, cudaStream_t stream) {
  return attn_tiled::launch_stage<attn_tiled::Stage::kLse, attn_tiled::Lse>(p, t, choice, stream);
}
