#!/usr/bin/env bash
# Index refresh throughput: every block of a corpus embedded the way a REALM refresh does it
# (all-MiniLM-L6-v2 document tower, batches of 32 sorted by length) against ONNX Runtime on the
# same padded batches, alternating whole passes (RefreshThroughput). Updates the 'refresh' section
# of docs/benchmarks.md.   scripts/bench-refresh.sh [corpus=wordnet|squad.json] [limit] [block_len] [passes]
source "$(dirname "$0")/lib-jmh.sh"
line=$("$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
  -cp benchmarks/target/benchmarks.jar org.realmjava.bench.RefreshThroughput "${@:-wordnet}" 2>/dev/null | tail -1)
echo "$line"
python3 - "$line" "$*" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md refresh
import sys, os, datetime
kv = dict(x.split('=') for x in sys.argv[1].split())
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
print('## Index refresh throughput against ONNX Runtime (scripts/bench-refresh.sh)\n')
print(f'Command: `scripts/bench-refresh.sh {sys.argv[2]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'Every block embedded as a refresh does it ([CLS] title [SEP] body [SEP], batches of 32 sorted by length, all-MiniLM-L6-v2, mean pooling + L2, '
      'identity projection) and by ONNX Runtime 1.23.2 on the same padded batches (pooling in Java), alternating whole passes, median of the timed passes; '
      '2 threads each.\n')
print('| blocks | tokens | realm blocks/s | ORT blocks/s | realm / ORT | max abs diff |')
print('|---|---|---|---|---|---|')
print(f"| {kv['blocks']} | {kv['tokens']} | {float(kv['realm_blocks_per_s']):.1f} | {float(kv['ort_blocks_per_s']):.1f} | {float(kv['ratio']):.2f}x | {kv['max_abs_diff']} |")
PY
echo "updated the 'refresh' section of docs/benchmarks.md"
