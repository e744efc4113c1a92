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
      'Inference, 12 heads of 32, len 128, no padding; 4 * batch * 12 * 128^2 * 32 FLOP per call.\n')
print('| batch | fused ms | fused GFLOP/s | composed ms | composed GFLOP/s | fused speed-up |')
print('|---|---|---|---|---|---|')
by = {}
for r in rows:
    p = r['params']
    by.setdefault(int(p['batch']), {})[p['impl']] = r['primaryMetric']['score']
for b, v in sorted(by.items(), reverse=True):
    if 'fused' in v and 'composed' in v:
        flop = 4.0 * b * 12 * 128 * 128 * 32
        print(f"| {b} | {v['fused']:.2f} | {flop / v['fused'] / 1e6:.0f} | {v['composed']:.2f} | {flop / v['composed'] / 1e6:.0f} | {v['composed'] / v['fused']:.2f}x |")
PY
rm -f "$out"
echo "updated the 'attention' section of docs/benchmarks.md"
