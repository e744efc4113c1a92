#!/usr/bin/env bash
# Index refresh throughput: every block of a corpus embedded the way a REALM refresh does it
# (all-MiniLM-L6-v2 document tower, blocks sorted by length, unpadded passes of at most 256 blocks
# and 2,048 wordpieces) against ONNX Runtime on the same passes padded, the two taking turns every
# 4 passes (RefreshThroughput); then ORT also on other batchings, whole passes in rotation
# (RefreshBatchings). Corpora: the built-in WordNet glosses (2,000: short blocks) and, when
# ../shared/data is there, the SQuAD dev paragraphs (long blocks). Updates the 'refresh' section of
# docs/benchmarks.md.   scripts/bench-refresh.sh [passes=3]
source "$(dirname "$0")/lib-jmh.sh"
# ONNX Runtime picks its kernels from the processor: an AVX2-only one gets its own section
ISA=native; source scripts/lib-isa.sh; section=$(isa_section refresh); export ISA_SECTION=$section ISA_CPU="$(isa_cpu)"
passes=${1:-3}
squad=../shared/data/squad/dev-v1.1.json
lines=()
sweep=$(mktemp)
for corpus in wordnet $( [ -f "$squad" ] && echo "$squad"); do
  limit=$([ "$corpus" = wordnet ] && echo 2000 || echo 0)
  line=$("$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
    -cp benchmarks/target/benchmarks.jar org.realmjava.bench.RefreshThroughput "$corpus" "$limit" 288 "$passes" 2>/dev/null | tail -1)
  echo "$corpus: $line"
  lines+=("$(basename "$corpus") $line")
  # ORT on other batchings than the refresh's (SQuAD: its first 600 paragraphs, to keep the run short)
  blimit=$([ "$corpus" = wordnet ] && echo 2000 || echo 600)
  "$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
    -cp benchmarks/target/benchmarks.jar org.realmjava.bench.RefreshBatchings "$corpus" "$blimit" "$passes" 2>/dev/null \
    | sed "s|^|$(basename "$corpus") $blimit |" >> "$sweep"
done
# where a short-block refresh's time goes, op group by op group, beside ORT's profiled node times
profile=$(mktemp)
trap 'rm -f "$profile" "$sweep"' EXIT
"$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
  -cp benchmarks/target/benchmarks.jar org.realmjava.bench.RefreshProfile wordnet 2000 288 3 2>/dev/null > "$profile"
cat "$profile"
python3 - "$passes" "$profile" "$sweep" "${lines[@]}" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md "$section"
import sys, os, datetime
cpu = os.environ['ISA_CPU']
only = os.environ['ISA_SECTION'].endswith('-avx2-only')
print('## Index refresh throughput against ONNX Runtime' + (', AVX2-only processor' if only else '') + ' (scripts/bench-refresh.sh)\n')
print(f'Command: `scripts/bench-refresh.sh {sys.argv[1]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'Every block embedded as a refresh does it ([CLS] title [SEP] body [SEP] of at most 288 wordpieces, sorted by length, in unpadded passes of '
      'at most 256 blocks and 2,048 wordpieces; all-MiniLM-L6-v2, mean pooling + L2, identity projection) and by ONNX Runtime 1.23.2 on the same '
      'passes, each padded to its longest block (pooling in Java), the two taking turns every 4 passes (the machine\'s speed drifts over seconds; '
      'ORT\'s pool threads spin on after a run, so not every pass), '
      f'mean over {sys.argv[1]} timed passes after a whole warm-up pass of each; 2 threads each.\n')
print('| corpus | blocks | tokens | realm blocks/s | ORT blocks/s | realm / ORT | max abs diff |')
print('|---|---|---|---|---|---|---|')
for arg in sys.argv[4:]:
    name, rest = arg.split(' ', 1)
    kv = dict(x.split('=') for x in rest.split())
    print(f"| {name} | {kv['blocks']} | {kv['tokens']} | {float(kv['realm_blocks_per_s']):.1f} | {float(kv['ort_blocks_per_s']):.1f} | "
          f"{float(kv['ratio']):.2f}x | {kv['max_abs_diff']} |")
print('\nORT need not run best on our passes, so `RefreshBatchings` also gives it passes of a fixed number of blocks and a smaller token budget '
      f'(side = engine:max blocks:max wordpieces; whole passes over the corpus in rotation, a different side first each round, {sys.argv[1]} rounds after one untimed pass each; '
      'whole passes let the machine\'s drift into each figure, so read the ratio to ORT\'s fastest side with that in mind):\n')
print('| corpus (blocks) | side | passes | blocks/s |')
print('|---|---|---|---|')
best = {}
for l in open(sys.argv[3]):
    f = l.split()
    if len(f) < 3: continue
    kv = dict(x.split('=', 1) for x in f[2:] if '=' in x)
    if 'side' in kv:
        print(f"| {f[0]} ({f[1]}) | {kv['side']} | {kv['passes']} | {float(kv['blocks_per_s']):.1f} |")
    elif 'realm_vs_best_ort' in kv:
        best[f[0]] = kv['realm_vs_best_ort']
print()
for c, r in best.items():
    print(f'- {c}: realm against ORT\'s fastest side: {float(r):.2f}x')
import re
ours, ort, side = {}, {}, None
for l in open(sys.argv[2]):
    if l.startswith('ONNX Runtime'): side = ort
    elif re.match(r'\d+ blocks', l): side = ours
    m = re.match(r'\s+(\S+(?: \S+)*?)\s+([\d.]+) ms', l)
    if m and side is not None and not m.group(1).endswith(' only'): side[m.group(1)] = float(m.group(2))
print('\nWhere a refresh of the 2,000 WordNet glosses goes, per pass (RefreshProfile: the document tower\'s inference ops with a timer each, '
      'median of 3 passes; ONNX Runtime\'s profiler node times on the same passes, padded, summed by node name into the same groups; '
      'the GEMM groups include their bias, GELU or residual + LayerNorm; ffn is both FFN products, run by us as one kernel). The two sides run one after the other here, not in turns, '
      'so outside load can fall on one of them, and ORT\'s profiler adds a cost per node (most where nodes are many and small, as in attention); '
      'the throughput table above is the comparison, this one says where the time goes:\n')
print('| op group | realm ms | ORT ms | realm / ORT time |')
print('|---|---|---|---|')
for g in ['embeddings', 'qkv', 'attention', 'attn_out+ln', 'ffn', 'pool+norm', 'total']:
    a, b = ours.get(g), ort.get(g)
    print(f"| {g} | {a if a is not None else '-'} | {b if b is not None else '-'} | {f'{a / b:.2f}' if a and b else '-'} |")
PY
echo "updated the '$section' section of docs/benchmarks.md"
