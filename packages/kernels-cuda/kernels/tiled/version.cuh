// tiled/version.cuh — which kernel version each tiled stage runs, from the environment (read once per process).
//   ATTN_CUDA_TILED_KERNEL=1|2|3   all stages (3: version 3 where a stage has one — forward only — else 2)
//   ATTN_CUDA_TILED_LSE=1|2, ATTN_CUDA_TILED_FWD=1|2|3, ATTN_CUDA_TILED_BWD=1|2   per-stage overrides (3 on lse
//   or backward means 2); any other value means 1
// Defaults, from the H100 run of 2026-11-25 (NOTES.md): lse 2 (10–14% faster than v1 at d = 64 and 128, same
// accuracy), forward and backward 1 (v2 no faster at d = 64, 1.2–2× slower at d = 128).
// Version 2 (tensor cores, 3xTF32) exists only for the D = 64 and 128 buckets and only for the stages that have
// one; everything else runs version 1 whatever the setting. Version 3 (forward only, opt-in, not yet measured):
// the same buckets, same fallback.
#pragma once
#include <cstdlib>

namespace attn_tiled {

enum class Stage { Lse, Fwd, Bwd };

// The newest version <= the requested one that the stage has (newest: 3 for forward, 2 otherwise).
inline int env_version(const char *name, int fallback, int newest) {
  const char *s = std::getenv(name);
  if (!s || !*s) return fallback;
  const int want = std::atoi(s);
  return want == 2 || want == 3 ? (want < newest ? want : newest) : 1;
}

inline int stage_version(Stage st) {
  static const char *any = std::getenv("ATTN_CUDA_TILED_KERNEL");
  static const int all = env_version("ATTN_CUDA_TILED_KERNEL", 1, 3);
  static const int all2 = all < 2 ? all : 2;  // stages without a version 3
  static const int lse = env_version("ATTN_CUDA_TILED_LSE", any && *any ? all2 : 2, 2);
  static const int fwd = env_version("ATTN_CUDA_TILED_FWD", all, 3);
  static const int bwd = env_version("ATTN_CUDA_TILED_BWD", all2, 2);
  return st == Stage::Lse ? lse : st == Stage::Fwd ? fwd : bwd;
}

}  // namespace attn_tiled
