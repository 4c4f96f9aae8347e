// cuda_check.h — every CUDA runtime call of the binding goes through CUDA_CHECK: a failure becomes a C++ exception
// (then a JS Error) naming the operation, the CUDA error string and the binding source line.
#pragma once
#include <cuda_runtime.h>
#include <stdexcept>
#include <string>

namespace attn_binding {

inline std::string cuda_message(cudaError_t e, const std::string &what, const char *file, int line) {
  std::string base = file;
  const size_t slash = base.find_last_of('/');
  if (slash != std::string::npos) base = base.substr(slash + 1);
  return what + ": " + cudaGetErrorString(e) + " [" + base + ":" + std::to_string(line) + "]";
}

inline void cuda_check(cudaError_t e, const std::string &what, const char *file, int line) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  throw std::runtime_error(cuda_message(e, what, file, line));
}

}  // namespace attn_binding

#define CUDA_CHECK(call, what) ::attn_binding::cuda_check((call), (what), __FILE__, __LINE__)
