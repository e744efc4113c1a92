#!/usr/bin/env python3
"""PyTorch peer for scripts/bench-training-vs-pytorch.sh: one MLM training step (forward, backward,
AdamW) of a BERT encoder at MiniLM-L6 sizes, on the CPU, same shapes as TrainingStepBenchmark:
6 post-LN layers of 384 with 12 heads, FFN 1536 with GELU, vocabulary 30522 (tied MLM decoder),
dropout 0.1, 15% of positions masked and the vocabulary logits computed at those positions only.
Prints tokens/s (median step time over the timed steps)."""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from torch_bert import MaskedLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = MaskedLM()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(1000, 30000, (a.batch, a.len))
    n = a.batch * a.len
    masked = torch.randperm(n)[: int(0.15 * n)]
    targets = torch.randint(1000, 30000, (masked.numel(),))
    times = []
    for step in range(a.steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids, None, masked), targets)
        loss.backward()
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    print(f"torch {torch.__version__}: {s:.3f} s/step, {n / s:.0f} tokens/s")


if __name__ == "__main__":
    main()
