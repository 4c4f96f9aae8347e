#include "session_wrap.h"

#include <string>
#include <vector>
#include "problem_arg.h"

namespace attn_binding {

namespace {

Napi::Float32Array float32_arg(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": argument " + std::to_string(i + 1) + " must be a Float32Array");
  }
  return info[i].As<Napi::Float32Array>();
}

std::string string_arg(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": argument " + std::to_string(i + 1) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

// run (timed = false) or time (timed = true) on a libuv thread; settles a Promise on the JS thread.
class StagesWorker : public Napi::AsyncWorker {
 public:
  StagesWorker(Napi::Env env, SessionWrap *owner, const Napi::Object &self, std::vector<Stage> stages, bool timed,
               int warmup, int samples, bool cold_l2)
      : Napi::AsyncWorker(env, "attn_cuda_stages"),
        deferred_(Napi::Promise::Deferred::New(env)),
        self_(Napi::Persistent(self)),  // keeps the wrapper (and its device memory) alive until we settle
        owner_(owner),
        stages_(std::move(stages)),
        timed_(timed),
        warmup_(warmup),
        samples_(samples),
        cold_l2_(cold_l2) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    if (timed_) timings_ = owner_->session().time(stages_, warmup_, samples_, cold_l2_);
    else owner_->session().run(stages_);
  }

  void OnOK() override {
    owner_->set_busy(false);
    Napi::Env env = Env();
    if (!timed_) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("totalMs", to_array(env, timings_.total_ms));
    Napi::Object per = Napi::Object::New(env);
    // A stage listed twice keeps its first column: the contract has one series per stage name.
    for (size_t s = 0; s < stages_.size(); s++) {
      if (!per.Has(stage_name(stages_[s]))) per.Set(stage_name(stages_[s]), to_array(env, timings_.per_stage_ms[s]));
    }
    result.Set("perStageMs", per);
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error &e) override {
    owner_->set_busy(false);
    deferred_.Reject(e.Value());
  }

 private:
  static Napi::Array to_array(Napi::Env env, const std::vector<double> &v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, v[i]));
    return a;
  }

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_;
  SessionWrap *owner_;
  std::vector<Stage> stages_;
  bool timed_;
  int warmup_, samples_;
  bool cold_l2_;
  Timings timings_;
};

}  // namespace

Napi::Function SessionWrap::Define(Napi::Env env) {
  return DefineClass(env, "Session",
                     {
                         InstanceMethod<&SessionWrap::Write>("write"),
                         InstanceMethod<&SessionWrap::Read>("read"),
                         InstanceMethod<&SessionWrap::Poison>("poison"),
                         InstanceMethod<&SessionWrap::Run>("run"),
                         InstanceMethod<&SessionWrap::Time>("time"),
                         InstanceMethod<&SessionWrap::Dispose>("dispose"),
                         InstanceAccessor<&SessionWrap::DeviceBytes>("deviceBytes"),
                         InstanceAccessor<&SessionWrap::Kernels>("kernels"),
                     });
}

SessionWrap::SessionWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SessionWrap>(info) {
  if (info.Length() < 2) throw Napi::TypeError::New(info.Env(), "new Session(problem, variant[, choice])");
  session_ = std::make_unique<DeviceSession>(problem_from(info[0]), variant_from(info[1]), choice_from(info[2]));
}

void SessionWrap::require_idle(const char *what) {
  if (busy_) {
    throw std::runtime_error(std::string(what) + ": a run or time call is still in flight (" + session_->describe() + ")");
  }
}

Napi::Value SessionWrap::Write(const Napi::CallbackInfo &info) {
  require_idle("write");
  const std::string name = string_arg(info, 0, "write");
  Napi::Float32Array a = float32_arg(info, 1, "write");
  session_->write(name, a.Data(), a.ElementLength());
  return info.Env().Undefined();
}

Napi::Value SessionWrap::Read(const Napi::CallbackInfo &info) {
  require_idle("read");
  const std::string name = string_arg(info, 0, "read");
  Napi::Float32Array a = float32_arg(info, 1, "read");
  session_->read(name, a.Data(), a.ElementLength());
  return info.Env().Undefined();
}

Napi::Value SessionWrap::Poison(const Napi::CallbackInfo &info) {
  require_idle("poison");
  session_->poison();
  return info.Env().Undefined();
}

Napi::Value SessionWrap::Run(const Napi::CallbackInfo &info) {
  require_idle("run");
  if (session_->disposed()) throw std::runtime_error("run: session is disposed (" + session_->describe() + ")");
  auto *w = new StagesWorker(info.Env(), this, info.This().As<Napi::Object>(), stages_from(info[0]), false, 0, 0, false);
  busy_ = true;
  w->Queue();  // the worker deletes itself after OnOK / OnError
  return w->promise();
}

Napi::Value SessionWrap::Time(const Napi::CallbackInfo &info) {
  require_idle("time");
  if (session_->disposed()) throw std::runtime_error("time: session is disposed (" + session_->describe() + ")");
  std::vector<Stage> stages = stages_from(info[0]);
  const int warmup = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : -1;
  const int samples = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : -1;
  if (stages.empty() || warmup < 0 || samples < 1) {
    throw Napi::TypeError::New(info.Env(), "time(stages, warmup >= 0, samples >= 1[, coldL2]) with at least one stage");
  }
  const bool cold_l2 = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  auto *w = new StagesWorker(info.Env(), this, info.This().As<Napi::Object>(), std::move(stages), true, warmup, samples,
                             cold_l2);
  busy_ = true;
  w->Queue();
  return w->promise();
}

Napi::Value SessionWrap::Dispose(const Napi::CallbackInfo &info) {
  require_idle("dispose");
  session_->dispose();
  return info.Env().Undefined();
}

Napi::Value SessionWrap::DeviceBytes(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), static_cast<double>(session_->device_bytes()));
}

// {lse, forward, backward}: what each stage runs (tiled), or undefined (naive: one kernel per stage)
Napi::Value SessionWrap::Kernels(const Napi::CallbackInfo &info) {
  const std::vector<std::string> &k = session_->kernels();
  if (k.size() != 3) return info.Env().Undefined();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("lse", k[0]);
  o.Set("forward", k[1]);
  o.Set("backward", k[2]);
  return o;
}

}  // namespace attn_binding
