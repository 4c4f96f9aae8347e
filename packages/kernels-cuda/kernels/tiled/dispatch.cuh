// tiled/dispatch.cuh — how a tiled launcher turns a choice into a launch, driven by the version table (versions.h):
// the plan (the version that runs for the problem's head-dim bucket, falling back to version 1 where the requested
// one has no kernel; refused where the requested version does not take the problem's dtype; the tile shape; the score
// chains), the dispatch of a plan to the version's launcher, and the one launch helper every launcher uses. The CPU
// emulator (tiled/emu) compiles the same launchers with ATTN_LAUNCH running the kernel on the CPU instead.
//
// A stage's versions are Impl<V> for every row V of the stage (a missing one is a compile error), each with
//   template <int D, class T> static cudaError_t launch(const AttnProblem &, const AttnTensors &,
//                                                       const AttnTiledPlan &, cudaStream_t);
//       for every bucket D and storage type T (float, __half, __nv_bfloat16: storage.cuh) of the row's dtypes (no
//       other pair is instantiated, so a float32-only kernel never sees __half), and, where the row reads the shape
//       knob,
//   template <int D> static int automatic_shape(const AttnProblem &);
#pragma once
#include <cstddef>
#include <type_traits>
#include "../common.cuh"
#include "../storage.cuh"
#include "common.cuh"
#include "versions.h"

namespace attn_tiled {

// Shape of lse3 / fwd4 when the choice leaves it automatic: shape 0 (the faster on the H100) unless its grid fills at
// most half of the block slots the SMs offer at once (blocks0 <= sms x resident0 / 2: short sequences), then shape 1,
// whose query tiles are half as tall.
inline int tile_config(long long blocks0, int resident0, int sms) { return 2 * blocks0 <= (long long)sms * resident0 ? 1 : 0; }

// tile_config over the grid of a kernel's shape 0 (traits T0: BQ, kMinBlocks) for problem p.
template <class T0>
inline int shape_for(const AttnProblem &p) {
  return tile_config((long long)p.bh * ceil_div(p.nq, T0::BQ), T0::kMinBlocks, sm_count());
}

// kernel(args...) on one block of `threads` threads per (bh, tile of tileRows of `rows`) — the 1-D grid of
// tile_grid — with `smem` bytes of dynamic shared memory (opted in above 48 KB), then the launch checked.
template <class Kernel, class... Args>
inline cudaError_t launch_tiles(Kernel kernel, const AttnProblem &p, int rows, int tileRows, int threads, size_t smem,
                                cudaStream_t stream, Args... args) {
  unsigned grid;
  if (!tile_grid(p.bh, ceil_div(rows, tileRows), &grid)) return cudaErrorInvalidConfiguration;
  const cudaError_t e = allow_smem(kernel, smem);
  if (e != cudaSuccess) return e;
  ATTN_LAUNCH(kernel, grid, threads, smem, stream)(args...);
  return cudaGetLastError();
}

// The problem-dtype tensors of t as storage type T (what a launcher passes its kernels); lse, lse_lo and delta are
// float32 in every dtype and stay in t.
template <class T>
struct TypedTensors {
  const T *q, *k, *v, *dO;
  T *o, *dq, *dk, *dv;
  explicit TypedTensors(const AttnTensors &t)
      : q(static_cast<const T *>(t.q)), k(static_cast<const T *>(t.k)), v(static_cast<const T *>(t.v)),
        dO(static_cast<const T *>(t.dO)), o(static_cast<T *>(t.o)), dq(static_cast<T *>(t.dq)),
        dk(static_cast<T *>(t.dk)), dv(static_cast<T *>(t.dv)) {}
};

// f(std::integral_constant<int, D>{}) for the bucket D = 32, 64, 128 or 256.
template <class F>
inline auto with_bucket(int bucket, F &&f) {
  switch (bucket) {
    case 32: return f(std::integral_constant<int, 32>{});
    case 64: return f(std::integral_constant<int, 64>{});
    case 128: return f(std::integral_constant<int, 128>{});
    default: return f(std::integral_constant<int, 256>{});
  }
}

// Row I.. of the table: the launcher of stage S's version plan.version for bucket D and storage type T (rows that
// lack D or T's dtype are never instantiated with them).
template <Stage S, template <int> class Impl, int D, class T, std::size_t I = 0>
inline cudaError_t launch_plan(const AttnTiledPlan &plan, const AttnProblem &p, const AttnTensors &t,
                               cudaStream_t stream) {
  if constexpr (I == kTiledVersionCount) {
    return cudaErrorInvalidValue;  // the plan names no row (plan.version = 0: refused)
  } else {
    constexpr TiledVersion row = kTiledVersions[I];
    if constexpr (row.stage == S && (row.buckets & bucket_bit(D)) != 0 &&
                  (row.dtypes & dtype_bit(attn::dtype_of_v<T>)) != 0) {
      if (plan.version == row.version) return Impl<row.version>::template launch<D, T>(p, t, plan, stream);
    }
    return launch_plan<S, Impl, D, T, I + 1>(plan, p, t, stream);
  }
}

// Row I.. of the table: the automatic tile shape of stage S's version `version` for bucket D (-1: no shape knob).
template <Stage S, template <int> class Impl, int D, std::size_t I = 0>
inline int automatic_shape(int version, const AttnProblem &p) {
  if constexpr (I == kTiledVersionCount) {
    return -1;
  } else {
    constexpr TiledVersion row = kTiledVersions[I];
    if constexpr (row.stage == S && (row.buckets & bucket_bit(D)) != 0 && (row.knobs & kShapeKnob) != 0) {
      if (version == row.version) return Impl<row.version>::template automatic_shape<D>(p);
    }
    return automatic_shape<S, Impl, D, I + 1>(version, p);
  }
}

// The plan of stage S for p under a choice: version 0 (refused, plan_refusal says why) where the requested version is
// not in the table or does not take p.dtype; version 1 where it has no kernel for p's bucket.
template <Stage S, template <int> class Impl>
inline AttnTiledPlan plan_stage(const AttnProblem &p, const AttnTiledChoice &choice) {
  AttnTiledPlan plan{S, 0, 0, head_bucket(p), -1, false, p.dtype};
  const int asked = choice.version[(int)S];
  plan.requested = asked > 0 ? asked : default_version(S, p.dtype);
  const TiledVersion *row = find_version(S, plan.requested);
  if (!row || (row->dtypes & dtype_bit(p.dtype)) == 0) return plan;
  if ((row->buckets & bucket_bit(plan.bucket)) == 0) row = find_version(S, 1);
  plan.version = row->version;
  if (row->knobs & kShapeKnob) {
    plan.shape = choice.shape >= 0 ? choice.shape : with_bucket(plan.bucket, [&](auto d) {
      return automatic_shape<S, Impl, decltype(d)::value>(plan.version, p);
    });
  }
  plan.longScores = (row->knobs & kScoresKnob) != 0 && choice.longScores;
  return plan;
}

// The whole launcher of stage S: check the problem, plan, dispatch to the version's launcher for the bucket and the
// storage type. A refused plan returns cudaErrorInvalidValue (the binding refuses it before, with plan_refusal).
template <Stage S, template <int> class Impl>
inline cudaError_t launch_stage(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice,
                                cudaStream_t stream) {
  const cudaError_t bad = check_problem(p);
  if (bad != cudaSuccess) return bad;
  const AttnTiledPlan plan = plan_stage<S, Impl>(p, choice);
  if (plan.version == 0) return cudaErrorInvalidValue;
  return with_bucket(plan.bucket, [&](auto d) {
    return attn::with_dtype(p.dtype, [&](auto tag) {
      return launch_plan<S, Impl, decltype(d)::value, typename decltype(tag)::type>(plan, p, t, stream);
    });
  });
}

}  // namespace attn_tiled
