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
import torch.nn as nn
import torch.nn.functional as F


class Bert(nn.Module):
    def __init__(self, vocab=30522, hidden=384, layers=6, heads=12, ffn=1536, max_len=512):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_len, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        layer = nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.1, activation="gelu", batch_first=True,
                                           norm_first=False, layer_norm_eps=1e-12)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.transform = nn.Linear(hidden, hidden)
        self.transform_ln = nn.LayerNorm(hidden, eps=1e-12)
        self.decoder_bias = nn.Parameter(torch.zeros(vocab))
        self.drop = nn.Dropout(0.1)

    def forward(self, ids, masked_positions):
        b, l = ids.shape
        pos = torch.arange(l).unsqueeze(0)
        x = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.token_type(torch.zeros_like(ids))))
        h = self.encoder(x)
        hm = h.reshape(b * l, -1)[masked_positions]
        t = self.transform_ln(F.gelu(self.transform(hm)))
        return t @ self.word.weight.T + self.decoder_bias


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Bert()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(1000, 30000, (a.batch, a.len))
    n = a.batch * a.len
    masked = torch.randperm(n)[: int(0.15 * n)]
    targets = torch.randint(1000, 30000, (masked.numel(),))
    times = []
    for step in range(a.steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids, masked), targets)
        loss.backward()
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    print(f"torch {torch.__version__}: {s:.3f} s/step, {n / s:.0f} tokens/s")


if __name__ == "__main__":
    main()
