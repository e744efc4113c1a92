#!/usr/bin/env python3
"""PyTorch on the shapes of GpuBenchmarks, for the ratios in its table: MIPS as matmul + torch.topk,
attention as scaled_dot_product_attention (forward, forward+backward), the vocabulary cross-entropy
with full logits, and plain matmuls. Writes "name<TAB>median milliseconds" lines (and a "version" line) to --out.
Timing: CUDA events around each call, median of repeats, after warm-up."""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def median_ms(fn, reps, cuda=True):
    for _ in range(3):
        fn()
    if not cuda:  # a CPU dry run of this script (checks the script, not a peer figure)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)
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


def attention(q, k, v):
    """scaled_dot_product_attention where this torch has it (2.0+), else the plain formula."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v)
    return torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1) @ v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cuda", help="cuda; cpu only to check the script itself")
    a = ap.parse_args()
    reps = 5 if a.quick else 20
    dev = torch.device(a.device)
    cuda = a.device == "cuda"
    name = torch.cuda.get_device_name(0) if cuda else "cpu"
    sdpa = "scaled_dot_product_attention" if hasattr(F, "scaled_dot_product_attention") else "plain softmax(q k^T) v"
    res = {"version": f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {name}, attention by {sdpa}"}
    d, k = 128, 10
    for dtype, tname in ((torch.bfloat16, "bf16"), (torch.float32, "f32")):
        x = torch.rand(a.n, d, device=dev, dtype=torch.float32).mul_(2).sub_(1).to(dtype)
        for q in (1, 1024):
            qs = torch.rand(q, d, device=dev).mul_(2).sub_(1).to(dtype)
            res[f"mips_{tname}_q{q}"] = median_ms(lambda: torch.topk(qs @ x.T, k, dim=1), reps, cuda)
        del x
        torch.cuda.empty_cache()
    for hd in (64, 128):
        b, h, l = 16, 768 // hd, 512
        q, kk, v = (torch.randn(b, h, l, hd, device=dev, dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
        go = torch.randn(b, h, l, hd, device=dev, dtype=torch.bfloat16)
        with torch.no_grad():
            res[f"sdpa_fwd_d{hd}"] = median_ms(lambda: attention(q, kk, v), reps, cuda)

        def fwdbwd():
            out = attention(q, kk, v)
            torch.autograd.grad(out, (q, kk, v), go)
        res[f"sdpa_fwdbwd_d{hd}"] = median_ms(fwdbwd, reps, cuda)
    n, hs, vocab = 4096, 384, 30522
    hid = torch.randn(n, hs, device=dev, requires_grad=True)
    emb = (torch.randn(vocab, hs, device=dev) * 0.05).requires_grad_(True)
    y = torch.randint(0, vocab, (n,), device=dev)

    def ce():
        loss = F.cross_entropy(hid @ emb.T, y)
        torch.autograd.grad(loss, (hid, emb))
    res["ce_fwdbwd"] = median_ms(ce, reps, cuda)
    s = 8192 if cuda else 512
    for dtype, tname in ((torch.float32, "f32"), (torch.bfloat16, "bf16")):
        torch.backends.cuda.matmul.allow_tf32 = False
        m1, m2 = torch.rand(s, s, device=dev, dtype=dtype), torch.rand(s, s, device=dev, dtype=dtype)
        res[f"mm_{tname}"] = median_ms(lambda: m1 @ m2, reps, cuda)
    with open(a.out, "w") as f:
        for key, value in res.items():
            f.write(f"{key}\t{value}\n")


if __name__ == "__main__":
    main()
