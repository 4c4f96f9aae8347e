// dtype.h — the storage dtype of a problem's Q, K, V, dO, O, dQ, dK, dV on the device (packages/reference/src/
// dtype.ts). lse (its hi/lo pair) and delta stay float32 in every dtype, and every accumulation is float32. Plain C++:
// attention.h and tiled/versions.h both include it (the version table says which dtypes each kernel version takes).
#pragma once

enum class AttnDtype : int { kFloat32 = 0, kFloat16 = 1, kBFloat16 = 2 };

// "float32", "float16", "bfloat16" (the names of @attn/reference).
constexpr const char *dtype_name(AttnDtype t) {
  return t == AttnDtype::kFloat16 ? "float16" : t == AttnDtype::kBFloat16 ? "bfloat16" : "float32";
}

// Bytes of one stored element.
constexpr int dtype_bytes(AttnDtype t) { return t == AttnDtype::kFloat32 ? 4 : 2; }
