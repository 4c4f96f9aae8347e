// session_wrap.h — the JS class `Session` over a DeviceSession. write/read/poison/dispose are synchronous (copies
// straight from/to the Float32Array's memory); run and time are Promises served by a libuv worker thread, so the
// event loop keeps turning while the GPU works.
#pragma once
#include <napi.h>
#include <memory>
#include "device_session.h"

namespace attn_binding {

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit SessionWrap(const Napi::CallbackInfo &info);

  DeviceSession &session() { return *session_; }
  void set_busy(bool b) { busy_ = b; }

 private:
  Napi::Value Write(const Napi::CallbackInfo &info);
  Napi::Value Read(const Napi::CallbackInfo &info);
  Napi::Value Poison(const Napi::CallbackInfo &info);
  Napi::Value Run(const Napi::CallbackInfo &info);
  Napi::Value Time(const Napi::CallbackInfo &info);
  Napi::Value Dispose(const Napi::CallbackInfo &info);
  Napi::Value DeviceBytes(const Napi::CallbackInfo &info);
  Napi::Value Kernels(const Napi::CallbackInfo &info);
  void require_idle(const char *what);

  std::unique_ptr<DeviceSession> session_;
  bool busy_ = false;  // a run/time worker holds the session
};

}  // namespace attn_binding
