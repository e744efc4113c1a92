#!/usr/bin/env python3
"""Markdown tables of the pre-training experiment (scripts/experiment-pretrain-squad.sh) from
build/experiments: evaluation before/after per run, the utility and loss curves in windows of
10 steps, throughput and peak memory."""
import json, os, re, statistics, sys

out = sys.argv[1] if len(sys.argv) > 1 else "build/experiments"
runs = [("(a) REALM, salient spans", "squad-realm-salient"), ("(b) no retrieval, salient spans", "squad-no-retrieval"),
        ("(c) REALM, random spans", "squad-realm-random-span"), ("(d) REALM, salient spans, retriever lr 0.1x", "squad-realm-salient-slow-retriever")]
step0 = json.load(open(f"{out}/step0.json"))
def fmt(v, pct=False):
    return "-" if v is None or v == "NaN" else (f"{100 * v:.1f}" if pct else f"{v:.3f}")
print("| run | held-out masked-token accuracy % | held-out log-likelihood / token | recall@1 | recall@5 | recall@20 |")
print("|---|---|---|---|---|---|")
print(f"| step 0 (all runs start here) | {fmt(step0.get('heldout_accuracy'), True)} | {fmt(step0.get('heldout_loglik_per_token'))} | "
      f"{fmt(step0.get('questions_recall@1'), True)} | {fmt(step0.get('questions_recall@5'), True)} | {fmt(step0.get('questions_recall@20'), True)} |")
for title, name in runs:
    if not os.path.exists(f"{out}/{name}.json"):
        continue
    r = json.load(open(f"{out}/{name}.json"))
    label = title + (" (held-out masked by random spans, not comparable)" if name == "squad-realm-random-span" else "")
    print(f"| {label} | {fmt(r.get('heldout_accuracy'), True)} | {fmt(r.get('heldout_loglik_per_token'))} | {fmt(r.get('questions_recall@1'), True)} | "
          f"{fmt(r.get('questions_recall@5'), True)} | {fmt(r.get('questions_recall@20'), True)} |")
cs = f"{out}/squad-realm-random-span.salient.json"
if os.path.exists(cs):
    r = json.load(open(cs))
    print(f"| (c) on the salient-span held-out queries | {fmt(r.get('heldout_accuracy'), True)} | {fmt(r.get('heldout_loglik_per_token'))} | | | |")
print()
print("Training curves, means over windows of 10 steps (loss = -log p(y|x) per masked token; utility = log p(y|z_top,x) - log p(y|null,x)):\n")
print("| run | steps | loss | masked-token accuracy % | utility | entropy of p(z\\|x) |")
print("|---|---|---|---|---|---|")
for title, name in runs:
    f = f"{out}/{name}/metrics.jsonl"
    if not os.path.exists(f):
        continue
    m = [json.loads(l) for l in open(f)]
    for a in range(0, len(m), 10):
        w = m[a:a + 10]
        mean = lambda k: statistics.mean(x[k] for x in w if x[k] is not None)
        print(f"| {title if a == 0 else ''} | {a}-{a + len(w) - 1} | {mean('loss'):.3f} | {100 * mean('mlm_accuracy'):.1f} | {mean('utility'):+.3f} | {mean('entropy'):.3f} |")
print()
print("| run | median tokens/s | median s/step | refreshes made live (s each, wait) | peak RSS | wall time |")
print("|---|---|---|---|---|---|")
for title, name in runs:
    f = f"{out}/{name}/metrics.jsonl"
    if not os.path.exists(f):
        continue
    m = [json.loads(l) for l in open(f)]
    log = open(f"{out}/{name}.train.log").read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", log).group(1)) / 1024 / 1024
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", log).group(1)
    ref = ", ".join(f"{x['refresh_s']:.0f} s, waited {x['index_wait_s']:.1f} s" for x in m if x.get("refresh_s") is not None) or "none"
    print(f"| {title} | {statistics.median(x['tokens_per_s'] for x in m):.0f} | {statistics.median(x['step_s'] for x in m):.1f} | {ref} | {rss:.1f} GB | {wall} |")
for title, name in runs:
    f = f"{out}/{name}.txt"
    if os.path.exists(f):
        ex = [l[len("example: "):].strip() for l in open(f) if l.startswith("example: ")]
        if ex:
            print(f"\nHeld-out queries of {title} whose masked span is in a retrieved block other than their own:\n")
            for e in ex:
                print(f"* {e}")
