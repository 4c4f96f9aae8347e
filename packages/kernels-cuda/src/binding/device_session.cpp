// device_session.cpp — allocation with a memory check first, copies, poison, stage launches and CUDA-event timing.
#include "device_session.h"

#include <cstdio>
#include <stdexcept>
#include "cuda_check.h"
#include "half_bits.h"
#include "tiled_symbols.h"

namespace attn_binding {

namespace {

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

const char *stage_name(Stage s) {
  switch (s) {
    case Stage::kLse: return "lse";
    case Stage::kForward: return "forward";
    case Stage::kBackward: return "backward";
  }
  return "?";
}

const char *launcher_name(Stage s, Variant v) {
  const bool naive = v == Variant::kNaive;
  switch (s) {
    case Stage::kLse: return naive ? "attn_lse_naive" : "attn_lse_tiled";
    case Stage::kForward: return naive ? "attn_forward_naive" : "attn_forward_tiled";
    case Stage::kBackward: return naive ? "attn_backward_naive" : "attn_backward_tiled";
  }
  return "?";
}

size_t scratch_bytes(const AttnProblem &p, Variant v) {
  if (v == Variant::kNaive) return attn_naive_scratch_bytes(p);
  if (!tiled_available()) throw std::runtime_error("the tiled CUDA kernels are not in this build");
  return attn_tiled_scratch_bytes(p);
}

DeviceSession::DeviceSession(const AttnProblem &p, Variant variant, const AttnTiledChoice &choice)
    : p_(p), variant_(variant), choice_(choice) {
  if (variant == Variant::kTiled) {
    if (!tiled_available()) throw std::runtime_error("the tiled CUDA kernels are not in this build (" + describe() + ")");
    // The launchers plan the same way on every launch; the plans are recorded here, once.
    for (const AttnTiledPlan &plan : {attn_lse_tiled_plan(p, choice), attn_forward_tiled_plan(p, choice),
                                      attn_backward_tiled_plan(p, choice)}) {
      kernels_.push_back(attn_tiled::describe_plan(plan));
      if (plan.version == 0) throw std::runtime_error(attn_tiled::plan_refusal(plan) + " (" + describe() + ")");
    }
  }
  allocate();
}

DeviceSession::~DeviceSession() { free_all(); }

std::string DeviceSession::describe() const {
  return std::string("cuda ") + (variant_ == Variant::kNaive ? "naive" : "tiled") + " bh=" + std::to_string(p_.bh) +
         " nq=" + std::to_string(p_.nq) + " nk=" + std::to_string(p_.nk) + " d=" + std::to_string(p_.d) +
         " dv=" + std::to_string(p_.dv) + (p_.causal ? " causal" : "") +
         (p_.dtype != AttnDtype::kFloat32 ? std::string(" ") + dtype_name(p_.dtype) : "");
}

// lse is the hi part of the kernels' lse pair; its buffer holds the lo part after it (2 * bh * nq floats), which is
// never read back: 'lse' reads and writes bh * nq floats, and a write zeroes the lo part (kernels/attention.h).
std::vector<DeviceSession::Tensor> DeviceSession::tensors() {
  const size_t bh = p_.bh, nq = p_.nq, nk = p_.nk, d = p_.d, dv = p_.dv;
  const AttnDtype t = p_.dtype, f32 = AttnDtype::kFloat32;
  std::vector<Tensor> list = {
      {"q", &q_, bh * nq * d, false, t},    {"k", &k_, bh * nk * d, false, t},   {"v", &v_, bh * nk * dv, false, t},
      {"dO", &dO_, bh * nq * dv, false, t}, {"lse", &lse_, bh * nq, true, f32},  {"o", &o_, bh * nq * dv, true, t},
      {"dq", &dq_, bh * nq * d, true, t},   {"dk", &dk_, bh * nk * d, true, t},  {"dv", &dv_, bh * nk * dv, true, t},
      {"delta", &delta_, bh * nq, false, f32},
  };
  for (Tensor &t : list) t.alloc = t.ptr == &lse_ ? 2 * t.count : t.count;
  return list;
}

void DeviceSession::allocate() {
  scratch_bytes_ = scratch_bytes(p_, variant_);
  size_t tensor_bytes = 0;
  for (const Tensor &t : tensors()) tensor_bytes += t.bytes();

  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo (" + describe() + ")");
  if (tensor_bytes + scratch_bytes_ > free_bytes) {
    const std::string need = variant_ == Variant::kNaive
                                 ? "naive scores need " + gib(scratch_bytes_) + " (+" + gib(tensor_bytes) + " tensors)"
                                 : "tensors need " + gib(tensor_bytes + scratch_bytes_);
    throw std::runtime_error(need + ", device has " + gib(free_bytes) + " free of " + gib(total_bytes) + " (" +
                             describe() + ")");
  }

  try {
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate (" + describe() + ")");
    for (const Tensor &t : tensors()) {
      CUDA_CHECK(cudaMalloc(t.ptr, t.bytes()), std::string("cudaMalloc of ") + std::to_string(t.bytes()) +
                                                   " bytes for " + t.name + " (" + describe() + ")");
    }
    if (scratch_bytes_ > 0) {
      CUDA_CHECK(cudaMalloc(&scratch_, scratch_bytes_), "cudaMalloc of " + std::to_string(scratch_bytes_) +
                                                            " bytes for scratch (" + describe() + ")");
    }
  } catch (...) {
    free_all();
    throw;
  }
  device_bytes_ = tensor_bytes + scratch_bytes_;
  float *lse = static_cast<float *>(lse_);
  t_ = AttnTensors{q_, k_, v_, dO_, lse, lse + static_cast<size_t>(p_.bh) * p_.nq, o_, dq_, dk_, dv_,
                   static_cast<float *>(delta_), scratch_, scratch_bytes_};
}

void DeviceSession::free_all() noexcept {
  for (const Tensor &t : tensors()) {
    if (*t.ptr) cudaFree(*t.ptr);
    *t.ptr = nullptr;
  }
  if (scratch_) cudaFree(scratch_);
  scratch_ = nullptr;
  if (l2_scrub_) cudaFree(l2_scrub_);
  l2_scrub_ = nullptr;
  if (stream_) cudaStreamDestroy(stream_);
  stream_ = nullptr;
}

void DeviceSession::dispose() {
  if (disposed_) return;
  disposed_ = true;
  free_all();
}

DeviceSession::Tensor DeviceSession::find(const std::string &name, size_t n) {
  if (disposed_) throw std::runtime_error("session is disposed (" + describe() + ")");
  for (const Tensor &t : tensors()) {
    if (name != t.name) continue;
    if (n != t.count) {
      throw std::runtime_error(name + " has " + std::to_string(n) + " elements, the problem needs " +
                               std::to_string(t.count) + " (" + describe() + ")");
    }
    return t;
  }
  throw std::runtime_error("unknown tensor '" + name + "' (" + describe() + ")");
}

void DeviceSession::write(const std::string &name, const float *host, size_t n) {
  Tensor t = find(name, n);
  const std::string where = "write " + name + " (" + describe() + ")";
  // float32: straight from the JS buffer; a half dtype: rounded into the staging buffer first. cudaMemcpyAsync then a
  // sync keeps the copy ordered with our non-blocking stream.
  const void *src = host;
  if (t.dtype != AttnDtype::kFloat32) {
    staging_.resize(n);
    const bool f16 = t.dtype == AttnDtype::kFloat16;
    for (size_t i = 0; i < n; i++) staging_[i] = f16 ? attn_half::f32_to_f16_bits(host[i]) : attn_half::f32_to_bf16_bits(host[i]);
    src = staging_.data();
  }
  const size_t bytes = n * static_cast<size_t>(dtype_bytes(t.dtype));
  CUDA_CHECK(cudaMemcpyAsync(*t.ptr, src, bytes, cudaMemcpyHostToDevice, stream_), where);
  if (t.alloc > t.count) {  // lse given: its lo part is 0 (the given values are the whole lse)
    CUDA_CHECK(cudaMemsetAsync(static_cast<float *>(*t.ptr) + t.count, 0, (t.alloc - t.count) * sizeof(float), stream_),
               where);
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_), where);
}

void DeviceSession::read(const std::string &name, float *host, size_t n) {
  Tensor t = find(name, n);
  const std::string where = "read " + name + " (" + describe() + ")";
  if (t.dtype == AttnDtype::kFloat32) {
    CUDA_CHECK(cudaMemcpyAsync(host, *t.ptr, n * sizeof(float), cudaMemcpyDeviceToHost, stream_), where);
    CUDA_CHECK(cudaStreamSynchronize(stream_), where);
    return;
  }
  staging_.resize(n);
  CUDA_CHECK(cudaMemcpyAsync(staging_.data(), *t.ptr, n * sizeof(uint16_t), cudaMemcpyDeviceToHost, stream_), where);
  CUDA_CHECK(cudaStreamSynchronize(stream_), where);
  const bool f16 = t.dtype == AttnDtype::kFloat16;
  for (size_t i = 0; i < n; i++) host[i] = f16 ? attn_half::f16_bits_to_f32(staging_[i]) : attn_half::bf16_bits_to_f32(staging_[i]);
}

void DeviceSession::poison() {
  if (disposed_) throw std::runtime_error("session is disposed (" + describe() + ")");
  for (const Tensor &t : tensors()) {
    if (t.output) {
      CUDA_CHECK(attn_poison(*t.ptr, t.alloc, t.dtype, stream_), std::string("attn_poison ") + t.name + " (" + describe() + ")");
    }
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_), "attn_poison (" + describe() + ")");
}

void DeviceSession::enqueue(Stage s) {
  const bool naive = variant_ == Variant::kNaive;
  cudaError_t e = cudaErrorInvalidValue;
  switch (s) {
    case Stage::kLse: e = naive ? attn_lse_naive(p_, t_, stream_) : attn_lse_tiled(p_, t_, choice_, stream_); break;
    case Stage::kForward:
      e = naive ? attn_forward_naive(p_, t_, stream_) : attn_forward_tiled(p_, t_, choice_, stream_);
      break;
    case Stage::kBackward:
      e = naive ? attn_backward_naive(p_, t_, stream_) : attn_backward_tiled(p_, t_, choice_, stream_);
      break;
  }
  CUDA_CHECK(e, std::string(launcher_name(s, variant_)) + (naive ? "" : " " + kernels_[static_cast<int>(s)]) + " (" +
                    describe() + ")");
}

void DeviceSession::run(const std::vector<Stage> &stages) {
  if (disposed_) throw std::runtime_error("session is disposed (" + describe() + ")");
  // A sync per stage, so an error raised while a kernel ran is pinned on its launcher.
  for (Stage s : stages) {
    enqueue(s);
    CUDA_CHECK(cudaStreamSynchronize(stream_), std::string(launcher_name(s, variant_)) + " (" + describe() + ")");
  }
}

namespace {

// Events created once per time() call and destroyed on every path.
struct Events {
  std::vector<cudaEvent_t> e;
  explicit Events(size_t n, const std::string &where) : e(n, nullptr) {
    for (auto &ev : e) CUDA_CHECK(cudaEventCreate(&ev), "cudaEventCreate (" + where + ")");
  }
  ~Events() {
    for (auto ev : e)
      if (ev) cudaEventDestroy(ev);
  }
};

}  // namespace

// Writing twice the L2's size evicts whatever the previous sample left there (triton's do_bench zeroes a buffer the
// same way); on the session's stream, so it is ordered before the sample's first event.
void DeviceSession::scrub_l2(const std::string &where) {
  if (!l2_scrub_) {
    int device = 0, l2 = 0;
    CUDA_CHECK(cudaGetDevice(&device), "cudaGetDevice (" + where + ")");
    CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device), "L2 size (" + where + ")");
    const size_t bytes = 2 * static_cast<size_t>(l2 > 0 ? l2 : 64 << 20);
    CUDA_CHECK(cudaMalloc(&l2_scrub_, bytes), "cudaMalloc of " + std::to_string(bytes) + " bytes for the L2 scrub (" + where + ")");
    l2_scrub_bytes_ = bytes;
  }
  CUDA_CHECK(cudaMemsetAsync(l2_scrub_, 0, l2_scrub_bytes_, stream_), "L2 scrub (" + where + ")");
}

Timings DeviceSession::time(const std::vector<Stage> &stages, int warmup, int samples, bool cold_l2) {
  if (disposed_) throw std::runtime_error("session is disposed (" + describe() + ")");
  if (stages.empty() || samples < 1 || warmup < 0) throw std::runtime_error("time: needs stages, samples >= 1, warmup >= 0");
  std::string all;
  for (Stage s : stages) all += std::string(all.empty() ? "" : "+") + launcher_name(s, variant_);
  const std::string where = all + " (" + describe() + ")";

  for (int w = 0; w < warmup; w++)
    for (Stage s : stages) enqueue(s);
  CUDA_CHECK(cudaStreamSynchronize(stream_), "warmup of " + where);

  const size_t marks = stages.size() + 1;  // an event before each stage and one after the last
  Events ev(static_cast<size_t>(samples) * marks, where);
  for (int k = 0; k < samples; k++) {
    if (cold_l2) scrub_l2(where);
    for (size_t s = 0; s < stages.size(); s++) {
      CUDA_CHECK(cudaEventRecord(ev.e[k * marks + s], stream_), "cudaEventRecord (" + where + ")");
      enqueue(stages[s]);
    }
    CUDA_CHECK(cudaEventRecord(ev.e[k * marks + stages.size()], stream_), "cudaEventRecord (" + where + ")");
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_), where);

  Timings out;
  out.per_stage_ms.assign(stages.size(), std::vector<double>(samples));
  out.total_ms.resize(samples);
  for (int k = 0; k < samples; k++) {
    float ms = 0;
    for (size_t s = 0; s < stages.size(); s++) {
      CUDA_CHECK(cudaEventElapsedTime(&ms, ev.e[k * marks + s], ev.e[k * marks + s + 1]), "cudaEventElapsedTime (" + where + ")");
      out.per_stage_ms[s][k] = ms;
    }
    CUDA_CHECK(cudaEventElapsedTime(&ms, ev.e[k * marks], ev.e[k * marks + stages.size()]), "cudaEventElapsedTime (" + where + ")");
    out.total_ms[k] = ms;
  }
  return out;
}

}  // namespace attn_binding
