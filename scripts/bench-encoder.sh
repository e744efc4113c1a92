#!/usr/bin/env bash
# JMH: all-MiniLM-L6-v2 encoder forward, this engine against ONNX Runtime Java in the same run
# (same ONNX file, same token ids, 2 threads each). Updates the 'encoder' section of docs/benchmarks.md.
source "$(dirname "$0")/lib-jmh.sh"
out=$(mktemp)
run_jmh EncoderBenchmark "$out" "$@"
python3 - "$out" "$*" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md encoder
import json, sys, os, datetime
rows = json.load(open(sys.argv[1]))
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
print('## Encoder forward against ONNX Runtime (scripts/bench-encoder.sh)\n')
print(f'Command: `scripts/bench-encoder.sh {sys.argv[2]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'all-MiniLM-L6-v2, random token ids, no padding, 2 threads each; setup checks both give the same hidden states (1e-4).\n')
print('| batch | len | realm ms/call | realm tokens/s | ORT ms/call | ORT tokens/s | realm / ORT | realm bf16-weights tokens/s | bf16 / ORT |')
print('|---|---|---|---|---|---|---|---|---|')
by = {}
for r in rows:
    p = r['params']
    by.setdefault((int(p['batch']), int(p['len'])), {})[p['impl']] = r['primaryMetric']['score']
for (b, l), v in sorted(by.items(), reverse=True):
    if 'realm' in v and 'ort' in v:
        tr, to = b * l / (v['realm'] / 1e3), b * l / (v['ort'] / 1e3)
        th = b * l / (v['realm-bf16'] / 1e3) if 'realm-bf16' in v else None
        bf = f"{th:.0f} | {th / to:.2f}x" if th else "- | -"
        print(f"| {b} | {l} | {v['realm']:.1f} | {tr:.0f} | {v['ort']:.1f} | {to:.0f} | {tr / to:.2f}x | {bf} |")
PY
rm -f "$out"
echo "updated the 'encoder' section of docs/benchmarks.md"
