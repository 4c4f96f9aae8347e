// addon.cpp — module entry of attn_cuda.node: device queries, build facts and the Session class.
//
// With the CUDA runtime linked statically this loads on machines with no GPU or driver; the first CUDA call then
// fails and deviceInfo() throws with the CUDA error string (the backend turns it into "no CUDA device found (...)").
#include <napi.h>

#include <string>
#include "cuda_check.h"
#include "device_session.h"
#include "problem_arg.h"
#include "session_wrap.h"
#include "tiled_symbols.h"

namespace attn_binding {

namespace {

std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

Napi::Value DeviceInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int count = 0;
  CUDA_CHECK(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (count < 1) throw Napi::Error::New(env, "cudaGetDeviceCount: 0 devices");
  int device = 0, driver = 0, runtime = 0;
  CUDA_CHECK(cudaGetDevice(&device), "cudaGetDevice");
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  CUDA_CHECK(cudaDriverGetVersion(&driver), "cudaDriverGetVersion");
  CUDA_CHECK(cudaRuntimeGetVersion(&runtime), "cudaRuntimeGetVersion");
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");

  Napi::Object o = Napi::Object::New(env);
  o.Set("name", prop.name);
  o.Set("computeCapability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
  o.Set("multiprocessors", prop.multiProcessorCount);
  o.Set("totalMemoryBytes", static_cast<double>(total_bytes));
  o.Set("freeMemoryBytes", static_cast<double>(free_bytes));
  o.Set("sharedMemPerBlockOptinBytes", static_cast<double>(prop.sharedMemPerBlockOptin));
  o.Set("l2CacheBytes", prop.l2CacheSize);
  o.Set("driverVersion", version_string(driver));
  o.Set("runtimeVersion", version_string(runtime));
  o.Set("deviceCount", count);
  return o;
}

Napi::Value ScratchBytes(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), static_cast<double>(scratch_bytes(problem_from(info[0]), variant_from(info[1]))));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const bool tiled = tiled_available();
  exports.Set("built", true);
  exports.Set("buildId", std::string("attn_cuda cudart ") + version_string(CUDART_VERSION) + " built " + __DATE__ + " " + __TIME__);
  exports.Set("tiledAvailable", tiled);
  exports.Set("tiledMaxD", tiled ? attn_tiled_max_d() : 0);
  // The version table and the knobs (tiled/versions.h): {versions: KernelVersion-like rows, knobs: VariantKnob[]}
  if (tiled) {
    Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
    exports.Set("tiledVersions", json.Get("parse").As<Napi::Function>().Call(json, {Napi::String::New(env, attn_tiled::versions_json())}));
  }
  // Session.time takes a 4th argument, coldL2 (DeviceSession::time): older builds ignore it, so say that this one does not
  exports.Set("l2Scrub", true);
  exports.Set("deviceInfo", Napi::Function::New<DeviceInfo>(env, "deviceInfo"));
  exports.Set("scratchBytes", Napi::Function::New<ScratchBytes>(env, "scratchBytes"));
  exports.Set("Session", SessionWrap::Define(env));
  return exports;
}

}  // namespace attn_binding

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return attn_binding::Init(env, exports); }

NODE_API_MODULE(attn_cuda, InitAddon)
