#!/usr/bin/env python3
"""PyTorch on the shapes of GpuBenchmarks, for the ratios in its table: MIPS as matmul + torch.topk,
attention as scaled_dot_product_attention (forward, forward+backward), the vocabulary cross-entropy
with full logits, and plain matmuls. Writes "name<TAB>median milliseconds" lines (and a "version" line) to --out.
Timing: CUDA events around each call, median of repeats, after warm-up."""
import argparse
import statistics

import torch
import torch.nn.functional as F


def median_ms(fn, reps):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    reps = 5 if a.quick else 20
    dev = torch.device("cuda")
    res = {"version": f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {torch.cuda.get_device_name(0)}"}
    d, k = 128, 10
    for dtype, name in ((torch.bfloat16, "bf16"), (torch.float32, "f32")):
        x = torch.rand(a.n, d, device=dev, dtype=torch.float32).mul_(2).sub_(1).to(dtype)
        for q in (1, 1024):
            qs = torch.rand(q, d, device=dev).mul_(2).sub_(1).to(dtype)
            res[f"mips_{name}_q{q}"] = median_ms(lambda: torch.topk(qs @ x.T, k, dim=1), reps)
        del x
        torch.cuda.empty_cache()
    for hd in (64, 128):
        b, h, l = 16, 768 // hd, 512
        q, kk, v = (torch.randn(b, h, l, hd, device=dev, dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
        go = torch.randn(b, h, l, hd, device=dev, dtype=torch.bfloat16)
        with torch.no_grad():
            res[f"sdpa_fwd_d{hd}"] = median_ms(lambda: F.scaled_dot_product_attention(q, kk, v), reps)

        def fwdbwd():
            out = F.scaled_dot_product_attention(q, kk, v)
            torch.autograd.grad(out, (q, kk, v), go)
        res[f"sdpa_fwdbwd_d{hd}"] = median_ms(fwdbwd, reps)
    n, hs, vocab = 4096, 384, 30522
    hid = torch.randn(n, hs, device=dev, requires_grad=True)
    emb = (torch.randn(vocab, hs, device=dev) * 0.05).requires_grad_(True)
    y = torch.randint(0, vocab, (n,), device=dev)

    def ce():
        loss = F.cross_entropy(hid @ emb.T, y)
        torch.autograd.grad(loss, (hid, emb))
    res["ce_fwdbwd"] = median_ms(ce, reps)
    s = 8192
    for dtype, name in ((torch.float32, "f32"), (torch.bfloat16, "bf16")):
        torch.backends.cuda.matmul.allow_tf32 = False
        m1, m2 = torch.rand(s, s, device=dev, dtype=dtype), torch.rand(s, s, device=dev, dtype=dtype)
        res[f"mm_{name}"] = median_ms(lambda: m1 @ m2, reps)
    with open(a.out, "w") as f:
        for key, value in res.items():
            f.write(f"{key}\t{value}\n")


if __name__ == "__main__":
    main()
