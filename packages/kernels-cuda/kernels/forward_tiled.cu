// forward_tiled.cu — stage 2 (O given lse) of the tiled CUDA attention: a launcher per kernel version, dispatched by
// the version table (tiled/versions.h, tiled/dispatch.cuh).
//
// Kernels (numbered, llm.c style):
//   version 1 (forward_tiled_kernel1, tiled/forward_kernel.cuh): SIMT fp32, Q tile + lse in shared memory, K/V tiles
//     streamed, P = exp(S - lse) parked in shared memory, O accumulated in register micro-tiles. No running max.
//     Every bucket.
//   version 2 (forward_tiled_kernel2, tiled/forward_kernel2.cuh): tensor cores, mma.sync m16n8k8 with the 3xTF32
//     split (float32-level), 4 warps x 16 query rows. Buckets D = 64 and 128.
//   version 3 (forward_tiled_kernel3, tiled/forward_kernel3.cuh): version 2 with K/V split into TF32 hi/lo once per
//     block, cp.async double-buffered K/V, 8 warps (D = 64: 128 query rows; D = 128: warp pairs split keys/columns);
//     16-byte copies where d, dv % 4 == 0 and K, V are 16-byte aligned (fwd3_vec), else 4-byte ones.
//   version 4 (forward_tiled_kernel4, tiled/forward_kernel4.cuh): every operand pre-split in mma fragment order
//     (one LDS.128 + 3 mma per B fragment), P kept in registers, one mma chain per score / per output tile, masks
//     only on boundary tiles, P = exp2 of (S·scale - lse)·log2e - lse_lo·log2e (two fmaf; lse_pair.cuh). Buckets
//     D = 64 and 128; two tile shapes (the shape knob) and short or long score chains.
// Head dims are bucketed to 32/64/128/256 (tiled/traits.cuh); d, dv <= 256.
// Compile alone: nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Xptxas -v -c forward_tiled.cu
#include "attention.h"
#include "tiled/dispatch.cuh"
#include "tiled/forward_kernel.cuh"
#include "tiled/forward_kernel2.cuh"
#include "tiled/forward_kernel3.cuh"
#include "tiled/forward_kernel4.cuh"
#include "tiled/forward_kernel5.cuh"

namespace attn_tiled {

template <int V> struct Fwd;

template <> struct Fwd<1> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    return launch_tiles(forward_tiled_kernel1<D, T>, p, p.nq, FwdTraits<D>::BQ, kThreads, FwdSmem<D>::bytes, stream, p,
                        x.q, x.k, x.v, t.lse, t.lse_lo, x.o);
  }
};

template <> struct Fwd<2> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    using Tr = Fwd2Traits<D>;
    return launch_tiles(forward_tiled_kernel2<D>, p, p.nq, Tr::BQ, Tr::NT, Tr::bytes, stream, p, x.q, x.k, x.v, t.lse,
                        t.lse_lo, x.o);
  }
};

template <> struct Fwd<3> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    using Tr = Fwd3Traits<D>;
    const auto kernel = fwd3_vec(p, x.k, x.v) ? forward_tiled_kernel3<D, true> : forward_tiled_kernel3<D, false>;
    return launch_tiles(kernel, p, p.nq, Tr::BQ, Tr::NT, Tr::bytes, stream, p, x.q, x.k, x.v, t.lse, t.lse_lo, x.o);
  }
};

template <> struct Fwd<4> {
  template <int D>
  static int automatic_shape(const AttnProblem &p) { return shape_for<Fwd4Traits<D, 0>>(p); }

  template <int D, class T, int CFG>
  static cudaError_t run(const AttnProblem &p, const AttnTensors &t, bool longScores, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    using Tr = Fwd4Traits<D, CFG>;
    const auto kernel = longScores ? forward_tiled_kernel4<D, CFG, true> : forward_tiled_kernel4<D, CFG, false>;
    return launch_tiles(kernel, p, p.nq, Tr::BQ, Tr::NT, Tr::bytes, stream, p, x.q, x.k, x.v, t.lse, t.lse_lo, x.o);
  }

  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &plan, cudaStream_t stream) {
    return plan.shape == 1 ? run<D, T, 1>(p, t, plan.longScores, stream) : run<D, T, 0>(p, t, plan.longScores, stream);
  }
};

template <> struct Fwd<5> {
  template <int D>
  static int automatic_shape(const AttnProblem &p) { return shape_for<Fwd5Traits<D, 0>>(p); }

  template <int D, int CFG, class T>
  static cudaError_t run(const AttnProblem &p, const AttnTensors &t, cudaStream_t stream) {
    using Tr = Fwd5Traits<D, CFG>;
    const auto *q = static_cast<const uint16_t *>(t.q), *k = static_cast<const uint16_t *>(t.k);
    const auto *v = static_cast<const uint16_t *>(t.v);
    const bool vecQK = p.d % 8 == 0 && aligned16(q) && aligned16(k), vecV = p.dv % 8 == 0 && aligned16(v);
    return launch_tiles(forward_tiled_kernel5<D, CFG, attn::dtype_of_v<T> == AttnDtype::kBFloat16>, p, p.nq, Tr::BQ,
                        Tr::NT, Tr::bytes, stream, p, q, k, v, (const float *)t.lse, (const float *)t.lse_lo,
                        static_cast<uint16_t *>(t.o), vecQK, vecV);
  }

  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &plan, cudaStream_t stream) {
    return plan.shape == 1 ? run<D, 1, T>(p, t, stream) : run<D, 0, T>(p, t, stream);
  }
};

}  // namespace attn_tiled

AttnTiledPlan attn_forward_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice) {
  return attn_tiled::plan_stage<attn_tiled::Stage::kForward, attn_tiled::Fwd>(p, choice);
}

cudaError_t attn_forward_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice,
                               cudaStream_t stream) {
  return attn_tiled::launch_stage<attn_tiled::Stage::kForward, attn_tiled::Fwd>(p, t, choice, stream);
}
