#!/usr/bin/env python3
"""torch.nn.functional.scaled_dot_product_attention (SDPA) behind the attn Backend contract, in the problem's dtype:
float32 (TF32 off), float16 or bfloat16.

One long-lived process per sweep (peers/torch-server.ts starts it on first use and ends it at close). It holds each
session's tensors on the GPU, so the sweep's own inputs are written once and its outputs read back and checked
like any kernel's.

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout (anything else goes to stderr).
Every reply has "ok"; a failure is {"ok": false, "error": one line} or, when the SDPA backend does not take the
problem, {"ok": false, "refused": one line}. Tensors travel as raw little-endian float32 files named by the client,
in every dtype: an input of a half dtype holds values the dtype represents (the client rounded them), converted
on the device exactly (write refuses a value that is not one); an output is widened to float32 (exact), and an
element still holding the half poison is written as the float32 poison pattern, so the client sees one contract.

  hello                                  -> torch, device, driver, l2CacheBytes
  open    id variant problem             -> deviceBytes: peak allocation over one forward + backward (a probe that
                                            also finds refusals and out-of-memory before any record is made), dtype
          problem = {bh, nq, nk, d, dv, scale, causal, dtype}; dtype = float32 | float16 | bfloat16 (Q, K, V, dO,
          O, dQ, dK, dV; lse is float32); variant = efficient | math | flash | cudnn
  write   id files {q, k, v, dO: path}
  poison  id                             outputs := a NaN pattern (float32 0x7fdead00, float16 0x7ead, bfloat16
                                            0x7fde), so an unwritten element shows
  run     id stages                      ["lse","forward"] | ["lse","forward","backward"] | ["backward"] (after a forward)
  read    id files {lse, o, dq, dk, dv: path}
  time    id stages warmup samples l2    -> totalMs: one CUDA-event duration per sample; l2 "cold" zeroes a buffer
                                            twice the L2's size before each sample, outside its events
  dispose id
  ceilings                               -> copyGBs, fp32/tf32/fp16/bf16 MatmulTFs (1 GiB copy, 8192^3 products)
  bye

Stages: SDPA is one fused forward, so ["lse","forward"] is one SDPA call with autograd on (the training forward,
whose lse the backward reuses) and "backward" is out.backward(dO) on that call's graph. lse: the efficient
kernel's own logsumexp, read from its autograd node; the math backend keeps none, so for it the server rebuilds lse
from the same scores in row chunks, a stand-in for the reference check of the backward that the client never
judges (in float32 from the stored inputs). Causal is bottom-right aligned like the attn kernels: is_causal when
Nq == Nk, else causal_lower_right.
"""
import ctypes
import json
import math
import os
import signal
import sys
import time
import warnings

POISON_BITS = 0x7FDEAD00
# NaNs no arithmetic produces (GPUs write 0x7e00 / 0x7fc0): the float32 pattern's top half for bfloat16
HALF_POISON_BITS = {"float16": 0x7EAD, "bfloat16": 0x7FDE}
FORWARD = ("lse", "forward")
BOTH = ("lse", "forward", "backward")
BACKWARD = ("backward",)
OUTPUTS = ("lse", "o", "dq", "dk", "dv")
INPUTS = ("q", "k", "v", "dO")

torch = None
IMPORT_ERROR = None
try:
    import torch  # noqa: F811
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention as sdpa
    from torch.nn.attention.bias import causal_lower_right
except Exception as e:  # noqa: BLE001 - any import failure means no peer
    IMPORT_ERROR = f"python3 cannot import torch: {str(e).splitlines()[0] if str(e) else type(e).__name__}"


class Refused(Exception):
    """The SDPA backend does not take this problem (a skip, not a failure)."""


def one_line(e):
    text = str(e).strip()
    line = text.splitlines()[0] if text else type(e).__name__
    return line[:400]


def log(msg):
    print(f"torch_server: {msg}", file=sys.stderr, flush=True)


def kinds():
    return {"efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH,
            "flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}


def torch_dtype(name):
    table = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if name not in table:
        raise ValueError(f"unknown dtype '{name}' (known: {', '.join(table)})")
    return table[name]


def find_lse(node, depth=4):
    """The logsumexp an SDPA autograd node saved for its backward (efficient: _saved_log_sumexp, or _saved_logsumexp
    one node down behind a transpose when a causal_lower_right mask is used), or None."""
    seen = 0
    frontier = [node]
    while frontier and seen < depth:
        nxt = []
        for n in frontier:
            if n is None:
                continue
            for name in ("_saved_log_sumexp", "_saved_logsumexp", "_saved_softmax_lse"):
                if hasattr(n, name):
                    return getattr(n, name)
            nxt.extend(f for f, _ in n.next_functions)
        frontier = nxt
        seen += 1
    return None


def load_f32(path, shape):
    n = math.prod(shape)
    size = os.path.getsize(path)
    if size != 4 * n:
        raise ValueError(f"{os.path.basename(path)} has {size} bytes, the problem needs {4 * n}")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=torch.float32).view(shape)


def widen(tensor, dtype_name):
    """A float32 copy of a tensor on its device (exact); an element still holding the half poison becomes the float32
    poison, which is what the client counts as unwritten."""
    if tensor.dtype == torch.float32:
        return tensor
    wide = tensor.to(torch.float32)
    unwritten = tensor.view(torch.int16) == HALF_POISON_BITS[dtype_name]
    wide.view(torch.int32).masked_fill_(unwritten, POISON_BITS)
    return wide


def save_f32(path, tensor):
    t = tensor.detach().to("cpu", torch.float32).contiguous()
    with open(path, "wb") as f:
        f.write(ctypes.string_at(t.data_ptr(), 4 * t.numel()))


class Timer:
    """CUDA events around each sample; cold L2 zeroes a scratch buffer (2 x L2) before each one, outside them."""

    def __init__(self, device):
        self.device = device
        self.scrub = None

    def scrub_l2(self):
        if self.scrub is None:
            l2 = getattr(torch.cuda.get_device_properties(self.device), "L2_cache_size", 0) or 64 << 20
            self.scrub = torch.empty(2 * l2 // 4, dtype=torch.float32, device=self.device)
        self.scrub.zero_()

    def run(self, fn, warmup, samples, cold, before=None):
        for _ in range(warmup):
            if before:
                before()
            fn()
        out = []
        for _ in range(samples):
            if before:
                before()
            if cold:
                self.scrub_l2()
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            out.append(s.elapsed_time(e))
        return out

    def median_ms(self, fn, min_samples=10, budget_ms=250.0):
        self.run(fn, 3, 0, False)
        torch.cuda.synchronize()
        xs = []
        t0 = time.perf_counter()
        while len(xs) < min_samples or (time.perf_counter() - t0) * 1000 < budget_ms:
            xs += self.run(fn, 0, 1, False)
            if len(xs) >= 1000:
                break
        xs.sort()
        return xs[len(xs) // 2]


class Session:
    def __init__(self, variant, p, device):
        self.variant = variant
        self.kind = kinds()[variant]
        self.device = device
        self.bh, self.nq, self.nk, self.d, self.dv = p["bh"], p["nq"], p["nk"], p["d"], p["dv"]
        self.scale = float(p["scale"])
        self.causal = bool(p["causal"])
        self.dtype_name = p.get("dtype", "float32")
        self.dtype = torch_dtype(self.dtype_name)
        self.mask = {}
        if self.causal and self.nq == self.nk:
            self.mask = {"is_causal": True}
        elif self.causal:
            self.mask = {"attn_mask": causal_lower_right(self.nq, self.nk)}
        bh, nq, nk, d, dv = self.bh, self.nq, self.nk, self.d, self.dv
        self.shapes = {"q": (1, bh, nq, d), "k": (1, bh, nk, d), "v": (1, bh, nk, dv), "dO": (1, bh, nq, dv),
                       "lse": (bh, nq), "o": (bh, nq, dv), "dq": (bh, nq, d), "dk": (bh, nk, d), "dv": (bh, nk, dv)}
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        # the problem's dtype for every tensor but the lse, which is float32 in every dtype
        self.t = {n: torch.zeros(self.shapes[n], dtype=torch.float32 if n == "lse" else self.dtype, device=device)
                  for n in INPUTS + OUTPUTS}
        self.graph = None
        self.device_bytes = 0
        self.probe(before)

    def probe(self, before):
        """One forward + backward on the zeroed inputs: the kernel's refusal or out-of-memory shows here, at open."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self.forward_graph()
                self.backward()
            except RuntimeError as e:
                if "No available kernel" not in str(e):
                    raise
                reasons = []
                for w in caught:
                    msg = str(w.message).split(" (Triggered internally")[0].strip()
                    if msg.endswith("not used because:") or "has been runtime disabled" in msg or msg in reasons:
                        continue
                    reasons.append(msg)
                raise Refused("; ".join(reasons) or one_line(e)) from None
        torch.cuda.synchronize(self.device)
        self.device_bytes = torch.cuda.max_memory_allocated(self.device) - before
        self.graph = None

    def forward_graph(self):
        q, k, v = (self.t[n].detach().requires_grad_() for n in ("q", "k", "v"))
        with sdpa_kernel([self.kind]):
            o = sdpa(q, k, v, scale=self.scale, **self.mask)
        self.graph = (o, q, k, v)
        return o

    def backward(self):
        if self.graph is None:
            raise ValueError("backward needs a forward of this session first (SDPA's backward runs on its graph)")
        o, q, k, v = self.graph
        q.grad = k.grad = v.grad = None
        o.backward(self.t["dO"], retain_graph=True)

    def write(self, name, host):
        """An input from float32 values; in a half dtype each must be a number of the dtype (converted exactly)."""
        wide = host.to(self.device)
        self.t[name].copy_(wide)
        if self.dtype != torch.float32:
            inexact = int(((self.t[name].to(torch.float32) != wide) & ~torch.isnan(wide)).sum())
            if inexact:
                raise ValueError(f"{name} holds {inexact} value{'s' if inexact > 1 else ''} that {self.dtype_name} "
                                 f"does not represent (inputs must be rounded to the problem's dtype)")

    def poison(self):
        for name in OUTPUTS:
            t = self.t[name]
            if t.dtype == torch.float32:
                t.view(torch.int32).fill_(POISON_BITS)
            else:
                t.view(torch.int16).fill_(HALF_POISON_BITS[self.dtype_name])

    def standin_lse(self):
        """lse from the scores in row chunks (math keeps none), in float32 from the stored inputs: only for the
        reference check; never judged."""
        q, k = self.t["q"][0].to(torch.float32), self.t["k"][0].to(torch.float32)
        rows = max(1, (1 << 27) // max(1, self.bh * self.nk))
        for r0 in range(0, self.nq, rows):
            r1 = min(self.nq, r0 + rows)
            s = torch.matmul(q[:, r0:r1], k.transpose(-1, -2)) * self.scale
            if self.causal:
                i = torch.arange(r0, r1, device=self.device).view(-1, 1)
                j = torch.arange(self.nk, device=self.device).view(1, -1)
                s = s.masked_fill(j > i + (self.nk - self.nq), float("-inf"))
            self.t["lse"][:, r0:r1] = torch.logsumexp(s, dim=-1)

    def run(self, stages):
        if stages in (FORWARD, BOTH):
            o = self.forward_graph()
            self.t["o"].copy_(o.detach()[0])
            if self.variant == "math":
                self.standin_lse()
            else:
                lse = find_lse(o.grad_fn)
                if lse is None:
                    raise RuntimeError(f"no logsumexp found in the autograd graph of SDPA {self.variant} "
                                       f"(torch {torch.__version__}): its lse cannot be read back")
                self.t["lse"].copy_(lse.detach().reshape(self.bh, -1)[:, :self.nq])
        if stages in (BOTH, BACKWARD):
            self.backward()
            _, q, k, v = self.graph
            self.t["dq"].copy_(q.grad[0])
            self.t["dk"].copy_(k.grad[0])
            self.t["dv"].copy_(v.grad[0])
        torch.cuda.synchronize(self.device)

    def time(self, timer, stages, warmup, samples, cold):
        if stages == FORWARD:
            q, k, v = (self.t[n].detach().requires_grad_() for n in ("q", "k", "v"))

            def fn():
                with sdpa_kernel([self.kind]):
                    sdpa(q, k, v, scale=self.scale, **self.mask)
            return timer.run(fn, warmup, samples, cold)
        if stages == BACKWARD:
            if self.graph is None:
                self.forward_graph()
            o, q, k, v = self.graph

            def clear():
                q.grad = k.grad = v.grad = None
            return timer.run(lambda: o.backward(self.t["dO"], retain_graph=True), warmup, samples, cold, before=clear)

        def both():
            self.forward_graph()
            self.backward()
        return timer.run(both, warmup, samples, cold)


def ceilings(device, timer):
    n = 1 << 28  # 1 GiB of float32 each way
    a = torch.randn(n, device=device)
    b = torch.empty_like(a)
    copy = 2 * n * 4 / (timer.median_ms(lambda: b.copy_(a)) * 1e-3) / 1e9
    del a, b
    m = 8192
    out = {"copyGBs": copy}
    for key, dtype, tf32 in (("fp32MatmulTFs", torch.float32, False), ("tf32MatmulTFs", torch.float32, True),
                             ("fp16MatmulTFs", torch.float16, False), ("bf16MatmulTFs", torch.bfloat16, False)):
        x = torch.randn(m, m, device=device, dtype=dtype)
        y = torch.randn(m, m, device=device, dtype=dtype)
        torch.backends.cuda.matmul.allow_tf32 = tf32
        try:
            out[key] = 2 * m ** 3 / (timer.median_ms(lambda: torch.mm(x, y)) * 1e-3) / 1e12
        finally:
            torch.backends.cuda.matmul.allow_tf32 = False
        del x, y
    torch.cuda.empty_cache()
    out["source"] = (f"torch {torch.__version__}: 1 GiB device copy (bytes read + written), 8192^3 fp32, tf32, "
                     f"fp16 and bf16 matmul on random data, median of >= 10")
    return out


STAGE_SETS = {FORWARD, BOTH, BACKWARD}


def serve():
    # Ctrl-C (or `timeout --signal=INT`) reaches the whole process group: the harness then finishes its current point
    # and closes stdin, which ends this loop; dying on SIGINT would fail that point instead
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the protocol gets its own copy of fd 1; fd 1 itself (C++ printf, Python print) goes to stderr
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def reply(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    sessions = {}
    device = None
    timer = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
        except ValueError as e:
            reply({"ok": False, "error": f"bad request: {one_line(e)}"})
            continue
        try:
            if op == "bye":
                reply({"ok": True})
                return
            if op == "hello":
                if IMPORT_ERROR:
                    reply({"ok": False, "error": IMPORT_ERROR})
                    continue
                if not torch.cuda.is_available():
                    reply({"ok": False, "error": f"torch {torch.__version__} sees no CUDA device"})
                    continue
                torch.backends.cuda.matmul.allow_tf32 = False
                torch.backends.cudnn.allow_tf32 = False
                warnings.filterwarnings("ignore", message="Lower right causal bias")
                device = torch.device("cuda")
                timer = Timer(device)
                props = torch.cuda.get_device_properties(device)
                reply({"ok": True, "torch": torch.__version__, "device": props.name,
                       "driver": f"CUDA {torch.version.cuda}", "l2CacheBytes": getattr(props, "L2_cache_size", None),
                       "multiprocessors": props.multi_processor_count, "python": sys.version.split()[0]})
                continue
            if device is None:
                raise ValueError(f"'{op}' before a successful hello")
            if op == "ceilings":
                reply({"ok": True, "ceilings": {"device": torch.cuda.get_device_name(device), **ceilings(device, timer)}})
                continue
            sid = req.get("id")
            if op == "open":
                if req.get("variant") not in kinds():
                    raise ValueError(f"unknown SDPA backend '{req.get('variant')}' (known: {', '.join(kinds())})")
                try:
                    s = Session(req["variant"], req["problem"], device)
                except Refused as e:
                    torch.cuda.empty_cache()
                    reply({"ok": False, "refused": one_line(e)})
                    continue
                except torch.cuda.OutOfMemoryError as e:
                    torch.cuda.empty_cache()
                    reply({"ok": False, "refused": f"out of memory: {one_line(e)}"})
                    continue
                sessions[sid] = s
                reply({"ok": True, "deviceBytes": s.device_bytes, "dtype": s.dtype_name})
                continue
            s = sessions.get(sid)
            if s is None:
                raise ValueError(f"no open session {sid}")
            if op == "write":
                for name, path in req["files"].items():
                    if name not in INPUTS:
                        raise ValueError(f"'{name}' is not an input (inputs: {', '.join(INPUTS)})")
                    s.write(name, load_f32(path, s.shapes[name]))
                reply({"ok": True})
            elif op == "poison":
                s.poison()
                reply({"ok": True})
            elif op in ("run", "time"):
                stages = tuple(req["stages"])
                if stages not in STAGE_SETS:
                    raise ValueError(f"SDPA runs lse+forward as one pass, or backward after it; not {'+'.join(stages)}")
                if op == "run":
                    s.run(stages)
                    reply({"ok": True})
                else:
                    ms = s.time(timer, stages, int(req["warmup"]), int(req["samples"]), req.get("l2") == "cold")
                    reply({"ok": True, "totalMs": ms, "l2": "cold" if req.get("l2") == "cold" else "warm"})
            elif op == "read":
                for name, path in req["files"].items():
                    if name not in OUTPUTS:
                        raise ValueError(f"'{name}' is not an output (outputs: {', '.join(OUTPUTS)})")
                    save_f32(path, widen(s.t[name], s.dtype_name))
                reply({"ok": True})
            elif op == "dispose":
                del sessions[sid]
                torch.cuda.empty_cache()
                reply({"ok": True})
            else:
                raise ValueError(f"unknown op '{op}'")
        except Exception as e:  # noqa: BLE001 - every failure is one line back to the client
            if torch is not None and isinstance(e, torch.cuda.OutOfMemoryError):
                torch.cuda.empty_cache()
                reply({"ok": False, "error": f"out of memory: {one_line(e)}"})
            else:
                reply({"ok": False, "error": f"{type(e).__name__}: {one_line(e)}"})


if __name__ == "__main__":
    serve()
