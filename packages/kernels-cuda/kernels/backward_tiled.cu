// backward_tiled.cu — stage 3 (dQ, dK, dV reusing lse) of the tiled CUDA attention: a launcher per kernel version,
// dispatched by the version table (tiled/versions.h, tiled/dispatch.cuh).
//
// Order on the stream: attn_backward_delta (delta_i = dO_i . O_i, backward_delta.cu), then the dK/dV pass over key
// tiles, then the dQ pass over query tiles. Deterministic: no atomics, every output element has one writer.
// Kernels (numbered, llm.c style):
//   version 1 (backward_dkdv_tiled_kernel1, backward_dq_tiled_kernel1, tiled/backward_kernel.cuh): SIMT fp32,
//     register micro-tiles, P and dS recomputed per tile and parked in shared memory. Every bucket.
//   version 2 (backward_dkdv_tiled_kernel2, backward_dq_tiled_kernel2, tiled/backward_kernel2.cuh): the same two
//     passes with all products on tensor cores (mma.sync 3xTF32, short chains), 4 warps x 16 rows per block.
//     Buckets D = 64 and 128.
//   version 3 (backward_dkdv_tiled_kernel3, backward_dq_tiled_kernel3, tiled/backward_kernel3.cuh): the same two
//     passes with operands pre-split into TF32 hi/lo in mma fragment order (tiled/tf32_frags.cuh), P and dS kept in
//     registers, masks only on boundary tiles. Buckets D = 64 and 128; short or long score chains.
//   version 4 (backward_dkdv_tiled_kernel4, backward_dq_tiled_kernel4, tiled/backward_kernel4.cuh): float16/bfloat16
//     on tensor cores (mma.sync m16n8k16), one warp per 16 keys (queries). Buckets D = 64 and 128.
// Head dims are bucketed to 32/64/128/256 (tiled/traits.cuh); d, dv <= 256.
// Compile alone: nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Xptxas -v -c backward_tiled.cu
#include "attention.h"
#include "tiled/backward_kernel.cuh"
#include "tiled/backward_kernel2.cuh"
#include "tiled/backward_kernel3.cuh"
#include "tiled/backward_kernel4.cuh"
#include "tiled/dispatch.cuh"

namespace attn_tiled {

template <int V> struct Bwd;

template <> struct Bwd<1> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    ATTN_TRY(attn_backward_delta(p, t, stream));
    ATTN_TRY(launch_tiles(backward_dkdv_tiled_kernel1<D, T>, p, p.nk, BwdKVTraits<D>::BK, kThreads, BwdKVSmem<D>::bytes,
                          stream, p, x.q, x.k, x.v, x.dO, t.lse, t.lse_lo, t.delta, x.dk, x.dv));
    return launch_tiles(backward_dq_tiled_kernel1<D, T>, p, p.nq, BwdQTraits<D>::BQ, kThreads, BwdQSmem<D>::bytes, stream,
                        p, x.q, x.k, x.v, x.dO, t.lse, t.lse_lo, t.delta, x.dq);
  }
};

template <> struct Bwd<2> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    using KV = BwdKV2Traits<D>;
    using Q = BwdQ2Traits<D>;
    ATTN_TRY(attn_backward_delta(p, t, stream));
    ATTN_TRY(launch_tiles(backward_dkdv_tiled_kernel2<D>, p, p.nk, KV::BK, KV::NT, KV::bytes, stream, p, x.q, x.k, x.v,
                          x.dO, t.lse, t.lse_lo, t.delta, x.dk, x.dv));
    return launch_tiles(backward_dq_tiled_kernel2<D>, p, p.nq, Q::BQ, Q::NT, Q::bytes, stream, p, x.q, x.k, x.v, x.dO,
                        t.lse, t.lse_lo, t.delta, x.dq);
  }
};

template <> struct Bwd<3> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &plan, cudaStream_t stream) {
    const TypedTensors<T> x(t);
    using KV = BwdKV3Traits<D>;
    using Q = BwdQ3Traits<D>;
    const auto dkdv = plan.longScores ? backward_dkdv_tiled_kernel3<D, true> : backward_dkdv_tiled_kernel3<D, false>;
    const auto dq = plan.longScores ? backward_dq_tiled_kernel3<D, true> : backward_dq_tiled_kernel3<D, false>;
    ATTN_TRY(attn_backward_delta(p, t, stream));
    ATTN_TRY(launch_tiles(dkdv, p, p.nk, KV::BK, KV::NT, KV::bytes, stream, p, x.q, x.k, x.v, x.dO, t.lse, t.lse_lo,
                          t.delta, x.dk, x.dv));
    return launch_tiles(dq, p, p.nq, Q::BQ, Q::NT, Q::bytes, stream, p, x.q, x.k, x.v, x.dO, t.lse, t.lse_lo, t.delta,
                        x.dq);
  }
};

template <> struct Bwd<4> {
  template <int D, class T>
  static cudaError_t launch(const AttnProblem &p, const AttnTensors &t, const AttnTiledPlan &, cudaStream_t stream) {
    using Tr = Bwd4Traits<D>;
    const auto *q = static_cast<const uint16_t *>(t.q), *k = static_cast<const uint16_t *>(t.k);
    const auto *v = static_cast<const uint16_t *>(t.v), *dO = static_cast<const uint16_t *>(t.dO);
    const bool vecQK = p.d % 8 == 0 && aligned16(q) && aligned16(k);
    const bool vecV = p.dv % 8 == 0 && aligned16(v) && aligned16(dO);
    constexpr bool BF16 = attn::dtype_of_v<T> == AttnDtype::kBFloat16;
    ATTN_TRY(attn_backward_delta(p, t, stream));
    ATTN_TRY(launch_tiles(backward_dkdv_tiled_kernel4<D, BF16>, p, p.nk, Tr::BK, Tr::NT, Tr::kvBytes, stream, p, q, k, v,
                          dO, (const float *)t.lse, (const float *)t.lse_lo, (const float *)t.delta,
                          static_cast<uint16_t *>(t.dk), static_cast<uint16_t *>(t.dv), vecQK, vecV));
    return launch_tiles(backward_dq_tiled_kernel4<D, BF16>, p, p.nq, Tr::BQ, Tr::NT, Tr::qBytes, stream, p, q, k, v, dO,
                        (const float *)t.lse, (const float *)t.lse_lo, (const float *)t.delta,
                        static_cast<uint16_t *>(t.dq), vecQK, vecV);
  }
};

}  // namespace attn_tiled

AttnTiledPlan attn_backward_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice) {
  return attn_tiled::plan_stage<attn_tiled::Stage::kBackward, attn_tiled::Bwd>(p, choice);
}

cudaError_t attn_backward_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice,
                                cudaStream_t stream) {
  return attn_tiled::launch_stage<attn_tiled::Stage::kBackward, attn_tiled::Bwd>(p, t, choice, stream);
}
