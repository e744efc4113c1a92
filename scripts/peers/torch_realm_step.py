#!/usr/bin/env python3
"""PyTorch peer for scripts/bench-realm-step.sh: one REALM pre-training step at all-MiniLM-L6-v2
sizes on the CPU, the same shapes and work as this engine's RealmPretrainer.step:
three BERTs (query tower, document tower, reader; 6 post-LN layers of 384, 12 heads, FFN 1536,
GELU, dropout 0.1), mean pooling + L2 normalisation + a 384 -> 128 projection on each retriever
side, scores = 20 * q . d over k retrieved blocks plus the null document, all re-embedded with
gradients; the reader over [CLS] x [SEP] z for each (query, candidate) with an MLM head tied to
its word embeddings, logits at the masked positions only; per-token marginal log-likelihood;
backward; global-norm clip 1.0; AdamW over all parameters. The MIPS search is not included (in
the engine it takes ~1% of the step). Token ids are random, every position real (no padding).
Prints tokens/s counted like the engine: query + document + reader tokens per step."""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_bert import BertEncoder, MaskedLM


class Retriever(nn.Module):
    def __init__(self, dim=128):
        super().__init__()
        self.bert = BertEncoder()
        self.proj = nn.Linear(384, dim, bias=False)

    def forward(self, ids, types):
        pooled = F.normalize(self.bert(ids, types).mean(1), dim=-1)
        return self.proj(pooled)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--query-len", type=int, default=32)
    ap.add_argument("--block-len", type=int, default=128)
    ap.add_argument("--masked", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    query, doc, reader = Retriever(), Retriever(), MaskedLM()
    params = list(query.parameters()) + list(doc.parameters()) + list(reader.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, eps=1e-6, weight_decay=0.01)
    b, k, lq, ld, t = a.batch, a.k, a.query_len, a.block_len, a.masked
    z = k + 1
    lr_ = lq + ld - 1
    # k retrieved blocks of ld tokens per query; the null document is the empty block [CLS] [SEP] [SEP]
    q_ids = torch.randint(1000, 30000, (b, lq))
    d_ids = torch.randint(1000, 30000, (b * k, ld))
    n_ids = torch.tensor([[101, 102, 102]]).expand(b, 3)
    r_ids = torch.randint(1000, 30000, (b * k, lr_))
    r_types = torch.cat([torch.zeros(b * k, lq, dtype=torch.long), torch.ones(b * k, ld - 1, dtype=torch.long)], 1)
    rn_ids = torch.randint(1000, 30000, (b, lq + 2))
    rn_types = torch.cat([torch.zeros(b, lq, dtype=torch.long), torch.ones(b, 2, dtype=torch.long)], 1)
    positions = torch.randint(1, lq - 1, (b, t))
    rows = (torch.arange(b * k).reshape(b, k, 1) * lr_ + positions.unsqueeze(1)).reshape(-1)
    rows_null = (torch.arange(b).reshape(b, 1) * (lq + 2) + positions).reshape(-1)
    targets = torch.randint(1000, 30000, (b, t))
    tokens = b * lq + b * k * ld + b * 3 + b * k * lr_ + b * (lq + 2)
    times = []
    for step in range(a.steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        qv = query(q_ids, torch.zeros_like(q_ids))
        dv = torch.cat([doc(d_ids, torch.zeros_like(d_ids)).reshape(b, k, -1),
                        doc(n_ids, torch.tensor([[0, 0, 1]]).expand(b, 3)).reshape(b, 1, -1)], 1)
        f = 20 * (qv.unsqueeze(1) * dv).sum(-1)                                    # [b, z]
        lp = torch.cat([reader(r_ids, r_types, rows).log_softmax(-1).reshape(b, k, t, -1),
                        reader(rn_ids, rn_types, rows_null).log_softmax(-1).reshape(b, 1, t, -1)], 1)
        ll = lp.gather(3, targets.reshape(b, 1, t, 1).expand(b, z, t, 1)).squeeze(-1)  # [b, z, t]
        logp = torch.logsumexp(f.log_softmax(-1).unsqueeze(-1) + ll, dim=1)       # [b, t]
        loss = -logp.mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    print(f"torch {torch.__version__}: {s:.3f} s/step, {tokens / s:.0f} tokens/s ({tokens} tokens per step)")


if __name__ == "__main__":
    main()
