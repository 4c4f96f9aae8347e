// device_session.h — one problem's device state: every tensor and the variant's scratch, allocated once and reused
// until dispose. Plain C++ (no N-API), so the async workers can drive it from a libuv thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "attention.h"

namespace attn_binding {

enum class Variant { kNaive, kTiled };
enum class Stage { kLse, kForward, kBackward };

struct Timings {
  std::vector<double> total_ms;                   // one per sample: first stage start to last stage end
  std::vector<std::vector<double>> per_stage_ms;  // [stage][sample]
};

class DeviceSession {
 public:
  // choice: the tiled kernel versions (ignored by naive); throws: a version the table lacks, memory check, cudaMalloc
  DeviceSession(const AttnProblem &p, Variant variant, const AttnTiledChoice &choice = kAttnTiledDefaults);
  ~DeviceSession();
  DeviceSession(const DeviceSession &) = delete;
  DeviceSession &operator=(const DeviceSession &) = delete;

  // n floats from / to the host. Tensors of the problem's dtype are converted on the host: write rounds to nearest
  // even (exact for values the reference already rounded), read widens exactly (a NaN keeps its payload, so a
  // poisoned half element reads back as the float32 pattern poison.ts knows).
  void write(const std::string &name, const float *host, size_t n);
  void read(const std::string &name, float *host, size_t n);
  void poison();
  void run(const std::vector<Stage> &stages);
  // cold_l2: before each timed sample, outside its events, overwrite a scratch buffer twice the L2's size
  Timings time(const std::vector<Stage> &stages, int warmup, int samples, bool cold_l2);
  void dispose();

  size_t device_bytes() const { return device_bytes_; }
  // What each stage runs (tiled: "lse3 shape0", "bwd1 (bwd3 has no D=256 bucket)", …; naive: empty)
  const std::vector<std::string> &kernels() const { return kernels_; }
  bool disposed() const { return disposed_; }
  // "cuda naive bh=16 nq=4096 nk=4096 d=64 dv=64 causal": every error message carries it
  std::string describe() const;
  // bytes of one element of the problem's dtype (q, k, v, dO, o, dq, dk, dv); lse and delta are float32
  size_t elem_bytes() const { return static_cast<size_t>(dtype_bytes(p_.dtype)); }

 private:
  struct Tensor {
    const char *name;
    void **ptr;
    size_t count;     // elements written and read under this name
    bool output;      // poisoned before each run
    AttnDtype dtype;  // the problem's dtype, or float32 (lse, delta)
    size_t alloc;     // elements allocated: count, except lse (its lo part follows: AttnTensors::lse_lo)
    size_t bytes() const { return alloc * static_cast<size_t>(dtype_bytes(dtype)); }
  };
  std::vector<Tensor> tensors();
  Tensor find(const std::string &name, size_t n);
  void enqueue(Stage s);
  void scrub_l2(const std::string &where);
  void allocate();
  void free_all() noexcept;

  AttnProblem p_;
  Variant variant_;
  AttnTiledChoice choice_;
  std::vector<std::string> kernels_;  // per Stage, tiled only
  AttnTensors t_{};
  // q .. dv in the problem's dtype; lse (hi, then lo) and delta float32
  void *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *dO_ = nullptr, *lse_ = nullptr, *o_ = nullptr;
  void *dq_ = nullptr, *dk_ = nullptr, *dv_ = nullptr, *delta_ = nullptr;
  std::vector<uint16_t> staging_;  // host copy of a half tensor being written or read
  void *scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  size_t device_bytes_ = 0;
  // cold-L2 timing only (allocated on first use, not counted in device_bytes_: not the algorithm's memory)
  void *l2_scrub_ = nullptr;
  size_t l2_scrub_bytes_ = 0;
  cudaStream_t stream_ = nullptr;
  bool disposed_ = false;
};

const char *stage_name(Stage s);
const char *launcher_name(Stage s, Variant v);
size_t scratch_bytes(const AttnProblem &p, Variant v);

}  // namespace attn_binding
