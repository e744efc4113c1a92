#!/usr/bin/env python3
"""Paired bootstrap 95% interval of a difference between two runs on the same probes, from
`realm pretrain-eval --predictions` files (docs/experiments.md).
  scripts/paired-bootstrap.py A.predictions.jsonl B.predictions.jsonl [span|recall@K]
span (default): A's span accuracy minus B's; recall@K: A's recall@K minus B's (first_block_rank < K).
10,000 resamples of the probes, seed 1."""
import json
import random
import sys


def hits(path, what):
    rows = [json.loads(line) for line in open(path)]
    if what == "span":
        return [1 if r["right"] else 0 for r in rows], [r["line"] for r in rows]
    k = int(what.split("@")[1])
    return [1 if 0 <= r["first_block_rank"] < k else 0 for r in rows], [r["line"] for r in rows]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    what = sys.argv[3] if len(sys.argv) > 3 else "span"
    a, la = hits(sys.argv[1], what)
    b, lb = hits(sys.argv[2], what)
    if la != lb:
        sys.exit("the two files are not over the same probes in the same order")
    n = len(a)
    d = [x - y for x, y in zip(a, b)]
    rnd = random.Random(1)
    boots = sorted(sum(d[rnd.randrange(n)] for _ in range(n)) / n for _ in range(10000))
    print(f"{what}: n={n} A {sum(a) / n:.3f} B {sum(b) / n:.3f} difference {sum(d) / n:+.3f} 95% interval [{boots[250]:+.3f}, {boots[9749]:+.3f}]")


if __name__ == "__main__":
    main()
