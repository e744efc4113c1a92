#!/usr/bin/env bash
# Index refresh throughput: every block of a corpus embedded the way a REALM refresh does it
# (all-MiniLM-L6-v2 document tower, batches of 32 sorted by length) against ONNX Runtime on the
# same padded batches, the two taking turns every 8 batches (RefreshThroughput). Corpora: the built-in WordNet
# glosses (2,000: short blocks) and, when ../shared/data is there, the SQuAD dev paragraphs (long
# blocks). Updates the 'refresh' section of docs/benchmarks.md.   scripts/bench-refresh.sh [passes=3]
source "$(dirname "$0")/lib-jmh.sh"
passes=${1:-3}
squad=../shared/data/squad/dev-v1.1.json
lines=()
for corpus in wordnet $( [ -f "$squad" ] && echo "$squad"); do
  limit=$([ "$corpus" = wordnet ] && echo 2000 || echo 0)
  line=$("$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
    -cp benchmarks/target/benchmarks.jar org.realmjava.bench.RefreshThroughput "$corpus" "$limit" 288 "$passes" 2>/dev/null | tail -1)
  echo "$corpus: $line"
  lines+=("$(basename "$corpus") $line")
done
python3 - "$passes" "${lines[@]}" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md refresh
import sys, os, datetime
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
print('## Index refresh throughput against ONNX Runtime (scripts/bench-refresh.sh)\n')
print(f'Command: `scripts/bench-refresh.sh {sys.argv[1]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'Every block embedded as a refresh does it ([CLS] title [SEP] body [SEP] of at most 288 wordpieces, batches of 32 sorted by length, '
      'all-MiniLM-L6-v2, mean pooling + L2, identity projection) and by ONNX Runtime 1.23.2 on the same padded batches (pooling in Java), '
      'the two taking turns every 8 batches (the machine\'s speed drifts over seconds; ORT\'s pool threads spin on after a run, so not every batch), '
      f'mean over {sys.argv[1]} timed passes after a whole warm-up pass of each; 2 threads each.\n')
print('| corpus | blocks | tokens | realm blocks/s | ORT blocks/s | realm / ORT | max abs diff |')
print('|---|---|---|---|---|---|---|')
for arg in sys.argv[2:]:
    name, rest = arg.split(' ', 1)
    kv = dict(x.split('=') for x in rest.split())
    print(f"| {name} | {kv['blocks']} | {kv['tokens']} | {float(kv['realm_blocks_per_s']):.1f} | {float(kv['ort_blocks_per_s']):.1f} | "
          f"{float(kv['ratio']):.2f}x | {kv['max_abs_diff']} |")
PY
echo "updated the 'refresh' section of docs/benchmarks.md"
