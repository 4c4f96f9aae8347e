#!/usr/bin/env python3
"""Time torch.nn.functional.scaled_dot_product_attention in float32 as a peer of the attn kernels.

Reads one JSON request on stdin:
  {"shapes": [{"bh", "nq", "nk", "d", "causal"}], "stages": ["fwd", "backward"],
   "warmup": 3, "minSamples": 10, "budgetMs": 250, "ceilings": true}
and prints one JSON object on stdout (progress goes to stderr):
  {"available": bool, "reason": str?, "torch": str, "device": str, "driver": str,
   "ceilings": {...}?, "records": [{"backend", "stage", "bh", "nq", "nk", "d", "causal", "status", "reason"?,
                                   "timing"?: {medianMs, p10Ms, p90Ms, rme, samples}, "bytes"?}]}

Timing: CUDA events around each call, after warm-up; samples continue until both minSamples and budgetMs are met.
'backward' is timed alone: one forward builds the graph, then out.backward(dO, retain_graph=True) is timed
(gradients are cleared before each sample, outside the events).
Causal is bottom-right aligned like the attn kernels: is_causal when Nq == Nk, else causal_lower_right(Nq, Nk).
TF32 is switched off so every backend computes in true fp32.
"""
import json
import math
import sys
import time


def log(msg):
    print(f"sdpa_peer: {msg}", file=sys.stderr, flush=True)


def stats(samples):
    xs = sorted(samples)
    n = len(xs)

    def pct(q):
        pos = (n - 1) * q
        lo, hi = math.floor(pos), math.ceil(pos)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    mean = sum(xs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    t95 = 1.96 + 2.4 / (n - 1) if n > 31 else [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                                 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
                                                 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042][max(n - 2, 0)]
    rme = 100 * t95 * sd / math.sqrt(n) / mean if n > 1 and mean > 0 else 0.0
    return {"medianMs": pct(0.5), "p10Ms": pct(0.1), "p90Ms": pct(0.9), "rme": rme, "samples": n}


def main():
    req = json.load(sys.stdin)
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means no peer
        print(json.dumps({"available": False, "reason": f"python3 cannot import torch: {e}"}))
        return
    if not torch.cuda.is_available():
        print(json.dumps({"available": False, "reason": f"torch {torch.__version__} sees no CUDA device"}))
        return
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.functional import scaled_dot_product_attention as sdpa
    try:
        from torch.nn.attention.bias import causal_lower_right
    except ImportError:
        causal_lower_right = None

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    out = {"available": True, "torch": torch.__version__, "device": props.name,
           "driver": f"CUDA {torch.version.cuda}", "records": []}

    warmup, min_samples, budget = req.get("warmup", 3), req.get("minSamples", 10), req.get("budgetMs", 250)

    def time_fn(fn, before=None):
        for _ in range(warmup):
            if before:
                before()
            fn()
        torch.cuda.synchronize()
        samples = []
        t0 = time.perf_counter()
        while len(samples) < min_samples or (time.perf_counter() - t0) * 1000 < budget:
            if before:
                before()
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            samples.append(s.elapsed_time(e))
            if len(samples) >= 5000:
                break
        return stats(samples)

    if req.get("ceilings"):
        try:
            n = 1 << 28  # 1 GiB of float32 each way
            a = torch.randn(n, device=dev)
            b = torch.empty_like(a)
            t = time_fn(lambda: b.copy_(a))
            copy = 2 * n * 4 / (t["medianMs"] * 1e-3) / 1e9
            del a, b
            m = 8192
            x = torch.randn(m, m, device=dev)
            y = torch.randn(m, m, device=dev)
            t = time_fn(lambda: torch.mm(x, y))
            fp32 = 2 * m ** 3 / (t["medianMs"] * 1e-3) / 1e12
            torch.backends.cuda.matmul.allow_tf32 = True
            t = time_fn(lambda: torch.mm(x, y))
            tf32 = 2 * m ** 3 / (t["medianMs"] * 1e-3) / 1e12
            torch.backends.cuda.matmul.allow_tf32 = False
            del x, y
            torch.cuda.empty_cache()
            out["ceilings"] = {"device": props.name, "copyGBs": copy, "fp32MatmulTFs": fp32, "tf32MatmulTFs": tf32,
                               "source": f"torch {torch.__version__}: 1 GiB device copy, 8192³ fp32 and tf32 matmul"}
            log(f"ceilings: copy {copy:.0f} GB/s, fp32 mm {fp32:.1f} TF/s, tf32 mm {tf32:.1f} TF/s")
        except Exception as e:  # noqa: BLE001
            log(f"ceilings not measured: {e}")

    kernels = [("efficient", SDPBackend.EFFICIENT_ATTENTION), ("math", SDPBackend.MATH),
               ("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)]
    stages = req.get("stages", ["fwd", "backward"])
    for sh in req["shapes"]:
        bh, nq, nk, d, causal = sh["bh"], sh["nq"], sh["nk"], sh["d"], sh["causal"]
        g = torch.Generator(device=dev).manual_seed(1234)
        q = torch.randn(1, bh, nq, d, device=dev, generator=g)
        k = torch.randn(1, bh, nk, d, device=dev, generator=g)
        v = torch.randn(1, bh, nk, d, device=dev, generator=g)
        d_o = torch.randn(1, bh, nq, d, device=dev, generator=g)
        kwargs = {}
        if causal and nq == nk:
            kwargs["is_causal"] = True
        elif causal:
            if causal_lower_right is None:
                kwargs = None
            else:
                kwargs["attn_mask"] = causal_lower_right(nq, nk)
        for name, kind in kernels:
            base = {"backend": f"torch-sdpa:{name}", "bh": bh, "nq": nq, "nk": nk, "d": d, "causal": causal}
            if kwargs is None:
                for st in stages:
                    out["records"].append({**base, "stage": st, "status": "skipped",
                                           "reason": "this torch has no causal_lower_right for Nq != Nk"})
                continue
            for st in stages:
                rec = {**base, "stage": st}
                try:
                    with sdpa_kernel([kind]):
                        torch.cuda.synchronize()
                        torch.cuda.reset_peak_memory_stats()
                        if st == "fwd":
                            rec["timing"] = time_fn(lambda: sdpa(q, k, v, **kwargs))
                        else:
                            qg, kg, vg = (t.detach().requires_grad_() for t in (q, k, v))
                            o = sdpa(qg, kg, vg, **kwargs)

                            def clear():
                                qg.grad = kg.grad = vg.grad = None

                            rec["timing"] = time_fn(lambda: o.backward(d_o, retain_graph=True), before=clear)
                            del o, qg, kg, vg
                        rec["bytes"] = torch.cuda.max_memory_allocated()
                    rec["status"] = "passed"
                except torch.cuda.OutOfMemoryError:
                    rec["status"] = "skipped"
                    rec["reason"] = "out of memory"
                except RuntimeError as e:
                    rec["status"] = "skipped"
                    rec["reason"] = str(e).strip().split("\n")[0][:200]
                torch.cuda.empty_cache()
                out["records"].append(rec)
                t = rec.get("timing")
                log(f"{base['backend']} {st} bh={bh} nq={nq} nk={nk} d={d} causal={causal}: "
                    + (f"{t['medianMs']:.3f} ms" if t else rec.get("reason", "")))
        del q, k, v, d_o
        torch.cuda.empty_cache()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
