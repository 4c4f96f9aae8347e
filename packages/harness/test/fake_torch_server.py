#!/usr/bin/env python3
"""A stand-in for src/peers/torch_server.py in tests: the same protocol, real attention computed in pure Python
(float64, tiny shapes only), no torch, no GPU. Its hello says "fake": true, and the torch backend refuses such a
server unless the caller passes allowFake, so it never becomes a peer by accident.

What it does like the real server: SDPA backend names, stage sets (lse+forward fused, backward after a forward),
the efficient kernel refusing d not divisible by 4, flash and cudnn refusing float32, the math backend's lse being a
stand-in, poison, raw float32 files, one reply per request. Dtypes: open echoes the problem's dtype; in float16 and
bfloat16 write refuses a value the dtype does not represent, and O, dQ, dK, dV come back rounded to the dtype (round
to nearest even; lse stays float32). Its timings are wall-clock time of the Python arithmetic (source "wall").

FAKE_TORCH (comma-separated) changes it for a test:
  no-torch         hello fails as a python without torch does
  crash-on-run     the process exits (code 3) on the first run, after one line on stderr
  multiline-error  time fails with a three-line message
  sloppy-math[=R]  math's O is off by a relative R (default 1e-3: a peer far less exact than float32)
  max-pairs=N      open refuses (out of memory) problems with more than N score pairs
  no-dtype-echo    open's reply has no dtype (a server older than the dtype axis, which ran float32 whatever asked)
"""
import json
import math
import os
import struct
import sys
import time
from array import array

POISON = struct.pack("<I", 0x7FDEAD00)
MODES = {m.split("=")[0]: (m.split("=")[1] if "=" in m else True) for m in os.environ.get("FAKE_TORCH", "").split(",") if m}
VARIANTS = ("efficient", "math", "flash", "cudnn")
STAGE_SETS = {("lse", "forward"), ("lse", "forward", "backward"), ("backward",)}


def round_half(dtype, x):
    """x stored in a half dtype and widened back (round to nearest even; beyond the range ±inf); float32: float32."""
    if dtype == "float16":
        try:
            return struct.unpack("<e", struct.pack("<e", x))[0]
        except OverflowError:
            return math.copysign(math.inf, x)
    f = struct.unpack("<f", struct.pack("<f", x))[0] if abs(x) < 3.4e38 else math.copysign(math.inf, x)
    if dtype == "float32" or math.isnan(f) or math.isinf(f):
        return f
    bits = struct.unpack("<I", struct.pack("<f", f))[0]
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def representable(dtype, xs):
    """How many of xs (float32 values) the dtype does not hold exactly (NaN aside)."""
    if dtype == "float32":
        return 0
    return sum(1 for x in xs if not math.isnan(x) and round_half(dtype, x) != x)


def load(path, n):
    size = os.path.getsize(path)
    if size != 4 * n:
        raise ValueError(f"{os.path.basename(path)} has {size} bytes, the problem needs {4 * n}")
    a = array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return list(a)


class Session:
    def __init__(self, variant, p):
        self.variant = variant
        self.bh, self.nq, self.nk, self.d, self.dv = p["bh"], p["nq"], p["nk"], p["d"], p["dv"]
        self.scale, self.causal = p["scale"], p["causal"]
        self.dtype = p.get("dtype", "float32")
        bh, nq, nk, d, dv = self.bh, self.nq, self.nk, self.d, self.dv
        self.sizes = {"q": bh * nq * d, "k": bh * nk * d, "v": bh * nk * dv, "dO": bh * nq * dv,
                      "lse": bh * nq, "o": bh * nq * dv, "dq": bh * nq * d, "dk": bh * nk * d, "dv": bh * nk * dv}
        self.inp = {n: [0.0] * self.sizes[n] for n in ("q", "k", "v", "dO")}
        self.out = {n: POISON * self.sizes[n] for n in ("lse", "o", "dq", "dk", "dv")}
        self.fwd = None

    def visible(self, i):
        return self.nk if not self.causal else max(0, min(self.nk, i + self.nk - self.nq + 1))

    def row(self, name, b, i, width):
        base = (b * (self.nq if name in ("q", "dO") else self.nk) + i) * width
        return self.inp[name][base:base + width]

    def forward(self):
        lse, o, p = [], [], {}
        for b in range(self.bh):
            for i in range(self.nq):
                q = self.row("q", b, i, self.d)
                s = [self.scale * sum(x * y for x, y in zip(q, self.row("k", b, j, self.d))) for j in range(self.visible(i))]
                m = max(s) if s else -math.inf
                l = m + math.log(sum(math.exp(x - m) for x in s)) if s else -math.inf
                pr = [math.exp(x - l) for x in s]
                p[b, i] = pr
                lse.append(l)
                acc = [0.0] * self.dv
                for j, w in enumerate(pr):
                    for c, x in enumerate(self.row("v", b, j, self.dv)):
                        acc[c] += w * x
                if self.variant == "math" and MODES.get("sloppy-math"):
                    off = 1e-3 if MODES["sloppy-math"] is True else float(MODES["sloppy-math"])
                    acc = [x * (1 + off) for x in acc]
                o += acc
        self.fwd = (lse, o, p)

    def backward(self):
        if self.fwd is None:
            raise ValueError("backward needs a forward of this session first (SDPA's backward runs on its graph)")
        _, o, p = self.fwd
        dq = [0.0] * self.sizes["dq"]
        dk = [0.0] * self.sizes["dk"]
        dv = [0.0] * self.sizes["dv"]
        for b in range(self.bh):
            for i in range(self.nq):
                do = self.row("dO", b, i, self.dv)
                oi = o[(b * self.nq + i) * self.dv:(b * self.nq + i + 1) * self.dv]
                delta = sum(x * y for x, y in zip(do, oi))
                q = self.row("q", b, i, self.d)
                for j, pij in enumerate(p[b, i]):
                    dp = sum(x * y for x, y in zip(do, self.row("v", b, j, self.dv)))
                    ds = pij * (dp - delta)
                    k = self.row("k", b, j, self.d)
                    for c in range(self.d):
                        dq[(b * self.nq + i) * self.d + c] += self.scale * ds * k[c]
                        dk[(b * self.nk + j) * self.d + c] += self.scale * ds * q[c]
                    for c in range(self.dv):
                        dv[(b * self.nk + j) * self.dv + c] += pij * do[c]
        return dq, dk, dv

    def run(self, stages):
        if stages != ("backward",):
            self.forward()
            lse, o, _ = self.fwd
            self.out["lse"] = array("f", lse).tobytes()
            self.out["o"] = self.stored(o)
        if "backward" in stages:
            dq, dk, dv = self.backward()
            for name, x in (("dq", dq), ("dk", dk), ("dv", dv)):
                self.out[name] = self.stored(x)

    def stored(self, xs):
        """An output as the device holds it (the problem's dtype), widened to float32 bytes."""
        return array("f", [round_half(self.dtype, x) for x in xs] if self.dtype != "float32" else xs).tobytes()


def serve():
    sessions = {}

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        op = req.get("op")
        try:
            if op == "bye":
                reply({"ok": True})
                return
            if op == "hello":
                if MODES.get("no-torch"):
                    reply({"ok": False, "error": "python3 cannot import torch: No module named 'torch'"})
                else:
                    reply({"ok": True, "fake": True, "torch": "none (fake)", "device": "fake (pure Python, tests only)",
                           "driver": "none", "l2CacheBytes": None})
                continue
            if op == "ceilings":
                reply({"ok": False, "error": "fake: no GPU to measure"})
                continue
            sid = req.get("id")
            if op == "open":
                v, p = req["variant"], req["problem"]
                if v not in VARIANTS:
                    raise ValueError(f"unknown SDPA backend '{v}'")
                if p.get("dtype", "float32") not in ("float32", "float16", "bfloat16"):
                    raise ValueError(f"unknown dtype '{p['dtype']}' (known: float32, float16, bfloat16)")
                if v in ("flash", "cudnn") and p.get("dtype", "float32") == "float32":
                    reply({"ok": False, "refused": f"fake {v} takes float16/bfloat16 only, got float32"})
                    continue
                if v == "efficient" and p["d"] % 4:
                    reply({"ok": False, "refused": f"fake efficient takes d divisible by 4, got {p['d']}"})
                    continue
                pairs = p["bh"] * p["nq"] * p["nk"]
                if "max-pairs" in MODES and pairs > int(MODES["max-pairs"]):
                    reply({"ok": False, "refused": f"out of memory: fake holds at most {MODES['max-pairs']} score pairs"})
                    continue
                sessions[sid] = Session(v, p)
                bytes_per = 4 if sessions[sid].dtype == "float32" else 2
                echo = {} if MODES.get("no-dtype-echo") else {"dtype": sessions[sid].dtype}
                reply({"ok": True, "deviceBytes": bytes_per * sum(sessions[sid].sizes.values()), **echo})
                continue
            s = sessions[sid]
            if op == "write":
                for name, path in req["files"].items():
                    xs = load(path, s.sizes[name])
                    inexact = representable(s.dtype, xs)
                    if inexact:
                        raise ValueError(f"{name} holds {inexact} value{'s' if inexact > 1 else ''} that {s.dtype} "
                                         f"does not represent (inputs must be rounded to the problem's dtype)")
                    s.inp[name] = xs
                reply({"ok": True})
            elif op == "poison":
                for name in s.out:
                    s.out[name] = POISON * s.sizes[name]
                reply({"ok": True})
            elif op in ("run", "time"):
                stages = tuple(req["stages"])
                if stages not in STAGE_SETS:
                    raise ValueError(f"SDPA runs lse+forward as one pass, or backward after it; not {'+'.join(stages)}")
                if op == "run" and MODES.get("crash-on-run"):
                    print("fake: crashing as asked", file=sys.stderr, flush=True)
                    os._exit(3)
                if op == "run":
                    s.run(stages)
                    reply({"ok": True})
                    continue
                if MODES.get("multiline-error"):
                    raise RuntimeError("first line of the failure\nsecond line\nthird line")
                ms = []
                for k in range(req["warmup"] + req["samples"]):
                    t0 = time.perf_counter()
                    if stages == ("backward",):
                        s.backward()
                    else:
                        s.forward()
                        if "backward" in stages:
                            s.backward()
                    if k >= req["warmup"]:
                        ms.append((time.perf_counter() - t0) * 1000)
                reply({"ok": True, "totalMs": ms, "source": "wall", "l2": req.get("l2", "warm")})
            elif op == "read":
                for name, path in req["files"].items():
                    with open(path, "wb") as f:
                        f.write(s.out[name])
                reply({"ok": True})
            elif op == "dispose":
                del sessions[sid]
                reply({"ok": True})
            else:
                raise ValueError(f"unknown op '{op}'")
        except Exception as e:  # noqa: BLE001
            text = str(e).strip()
            reply({"ok": False, "error": f"{type(e).__name__}: {text}"})


if __name__ == "__main__":
    serve()
