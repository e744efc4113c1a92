#!/usr/bin/env bash
# JMH: the fused multi-head attention kernel (Ops.attention) against the composed ops it replaced
# in inference, MiniLM sizes. Updates the 'attention' section of docs/benchmarks.md.
source "$(dirname "$0")/lib-jmh.sh"
out=$(mktemp)
run_jmh AttentionBenchmark "$out" "$@"
python3 - "$out" "$*" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md attention
import json, sys, os, datetime
rows = json.load(open(sys.argv[1]))
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
print('## Fused attention against the composed ops (scripts/bench-attention.sh)\n')
print(f'Command: `scripts/bench-attention.sh {sys.argv[2]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      '12 heads of 32, len 128, no padding; inference is 4 * batch * 12 * 128^2 * 32 FLOP per call.\n')
print('Training rows: forward with dropout 0.1 on the probabilities plus the backward to q, k, v (3x the FLOP); the backward reads '
      'the kept probabilities (25 MB at B=32, under the 64 MB of realm.attention.keepProbsBytes; above it they are recomputed).\n')
print('| batch | pass | fused ms | fused GFLOP/s | composed ms | composed GFLOP/s | fused speed-up |')
print('|---|---|---|---|---|---|---|')
by = {}
for r in rows:
    p = r['params']
    by.setdefault(int(p['batch']), {})[p['impl']] = r['primaryMetric']['score']
for b, v in sorted(by.items(), reverse=True):
    for suffix, name, times in (('', 'inference', 1), ('-train', 'training (fwd+bwd)', 3)):
        f, c = v.get('fused' + suffix), v.get('composed' + suffix)
        if f and c:
            flop = times * 4.0 * b * 12 * 128 * 128 * 32
            print(f"| {b} | {name} | {f:.2f} | {flop / f / 1e6:.0f} | {c:.2f} | {flop / c / 1e6:.0f} | {c / f:.2f}x |")
PY
rm -f "$out"
echo "updated the 'attention' section of docs/benchmarks.md"
