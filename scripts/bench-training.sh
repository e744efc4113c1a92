#!/usr/bin/env bash
# JMH: one MLM training step (forward, backward, AdamW) at MiniLM-L6 sizes, B=32 L=128.
# Updates the 'training' section of docs/benchmarks.md.
source "$(dirname "$0")/lib-jmh.sh"
out=$(mktemp)
run_jmh TrainingStepBenchmark "$out" "$@"
python3 - "$out" "$*" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md training
import json, sys, os, datetime
rows = json.load(open(sys.argv[1]))
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
print('## MLM training step (scripts/bench-training.sh)\n')
print(f'Command: `scripts/bench-training.sh {sys.argv[2]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'MiniLM-L6 sizes (6 x 384, 12 heads, FFN 1536, vocabulary 30522), dropout on, 15% masked, AdamW. '
      'Reference from DESIGN.md (not run here): PyTorch 1.13 CPU ~1.4k tokens/s on the same shapes.\n')
print('| batch | len | vocabulary logits at | s/step | tokens/s | vs PyTorch 1.4k |')
print('|---|---|---|---|---|---|')
for r in rows:
    p = r['params']; b, l = int(p['batch']), int(p['len']); s = r['primaryMetric']['score'] / 1e3
    print(f"| {b} | {l} | {p['mlmLogits']} positions | {s:.2f} | {b * l / s:.0f} | {b * l / s / 1400:.2f}x |")
PY
rm -f "$out"
echo "updated the 'training' section of docs/benchmarks.md"
