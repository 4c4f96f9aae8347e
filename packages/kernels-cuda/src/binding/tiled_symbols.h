// tiled_symbols.h — the tiled launchers are optional at link time: declared weak, they resolve to null when no
// kernels/*tiled*.cu defines them, and the addon then offers no 'tiled' variant (never a stand-in kernel).
#pragma once
#include "attention.h"

extern int attn_tiled_max_d() __attribute__((weak));
extern size_t attn_tiled_scratch_bytes(const AttnProblem &p) __attribute__((weak));
extern AttnTiledPlan attn_lse_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice) __attribute__((weak));
extern AttnTiledPlan attn_forward_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice) __attribute__((weak));
extern AttnTiledPlan attn_backward_tiled_plan(const AttnProblem &p, const AttnTiledChoice &choice) __attribute__((weak));
extern cudaError_t attn_lse_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice,
                                  cudaStream_t stream) __attribute__((weak));
extern cudaError_t attn_forward_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice,
                                      cudaStream_t stream) __attribute__((weak));
extern cudaError_t attn_backward_tiled(const AttnProblem &p, const AttnTensors &t, const AttnTiledChoice &choice,
                                       cudaStream_t stream) __attribute__((weak));

namespace attn_binding {

inline bool tiled_available() {
  return attn_tiled_max_d != nullptr && attn_tiled_scratch_bytes != nullptr && attn_lse_tiled_plan != nullptr &&
         attn_forward_tiled_plan != nullptr && attn_backward_tiled_plan != nullptr && attn_lse_tiled != nullptr &&
         attn_forward_tiled != nullptr && attn_backward_tiled != nullptr;
}

}  // namespace attn_binding
