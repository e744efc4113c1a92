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
# where a short-block refresh's time goes, op group by op group, beside ORT's profiled node times
profile=$(mktemp)
trap 'rm -f "$profile"' EXIT
"$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
  -cp benchmarks/target/benchmarks.jar org.realmjava.bench.RefreshProfile wordnet 2000 288 3 2>/dev/null > "$profile"
cat "$profile"
python3 - "$passes" "$profile" "${lines[@]}" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md refresh
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
for arg in sys.argv[3:]:
    name, rest = arg.split(' ', 1)
    kv = dict(x.split('=') for x in rest.split())
    print(f"| {name} | {kv['blocks']} | {kv['tokens']} | {float(kv['realm_blocks_per_s']):.1f} | {float(kv['ort_blocks_per_s']):.1f} | "
          f"{float(kv['ratio']):.2f}x | {kv['max_abs_diff']} |")
import re
ours, ort, side = {}, {}, None
for l in open(sys.argv[2]):
    if l.startswith('ONNX Runtime'): side = ort
    elif re.match(r'\d+ blocks', l): side = ours
    m = re.match(r'\s+(\S+(?: \S+)*?)\s+([\d.]+) ms', l)
    if m and side is not None and m.group(1) != 'inter gemm only': side[m.group(1)] = float(m.group(2))
print('\nWhere a refresh of the 2,000 WordNet glosses goes, per pass (RefreshProfile: the document tower\'s inference ops with a timer each, '
      'median of 3 passes; ONNX Runtime\'s profiler node times on the same batches, summed by node name into the same groups; '
      'the GEMM groups include their bias, GELU or residual + LayerNorm). The two sides run one after the other here, not in turns, '
      'so outside load can fall on one of them, and ORT\'s profiler adds a cost per node (most where nodes are many and small, as in attention); '
      'the throughput table above is the comparison, this one says where the time goes:\n')
print('| op group | realm ms | ORT ms | realm / ORT time |')
print('|---|---|---|---|')
for g in ['embeddings', 'qkv', 'attention', 'attn_out+ln', 'inter+gelu', 'out+ln', 'pool+norm', 'total']:
    a, b = ours.get(g), ort.get(g)
    print(f"| {g} | {a if a is not None else '-'} | {b if b is not None else '-'} | {f'{a / b:.2f}' if a and b else '-'} |")
PY
echo "updated the 'refresh' section of docs/benchmarks.md"
