#!/usr/bin/env bash
# all-MiniLM-L6-v2 forward, this engine (f32 and bf16 weights) and ONNX Runtime Java interleaved in one JVM (EncoderSideBySide:
# rounds of ~0.5 s of each side, order alternating, every forward timed), at B=1 and B=32, L=128, 2 threads.
# Usage: scripts/bench-encoder-side-by-side.sh [measureSeconds=120] [warmupSeconds=40]
# Prints the per-side lines and ratios, and updates the 'encoder-side-by-side' section of docs/benchmarks.md
# ('encoder-side-by-side-avx2-only' on a processor without AVX-512: ONNX Runtime picks its kernels from the
# processor, so an AVX2 comparison needs an AVX2-only machine; there is no ISA=avx2 mode here).
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/find-jdk.sh
bin/mvn -q -DskipTests package
M=${1:-120}; W=${2:-40}
ISA=native; source scripts/lib-isa.sh; section=$(isa_section encoder-side-by-side); cpu=$(isa_cpu)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for b in 1 32; do
  "$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate -Xmx4g \
    -cp benchmarks/target/benchmarks.jar org.realmjava.bench.EncoderSideBySide "$b" 128 "$M" "$W" 2>/dev/null | tee -a "$out"
done
python3 - "$out" "$*" "$cpu" "$section" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md "$section"
import sys, os, datetime
rows = {}
for line in open(sys.argv[1]):
    kind, *kv = line.split()
    d = dict(x.split('=') for x in kv)
    rows.setdefault(int(d['batch']), {})[kind] = d
cpu = sys.argv[3]
only = sys.argv[4].endswith('-avx2-only')
print('## Encoder forward against ONNX Runtime, interleaved in one JVM' + (', AVX2-only processor' if only else '') + ' (scripts/bench-encoder-side-by-side.sh)\n')
print(f'Command: `scripts/bench-encoder-side-by-side.sh {sys.argv[2]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'all-MiniLM-L6-v2, L=128, random token ids, no padding, 2 threads each; rounds of ~0.5 s of each side in turn, '
      'so outside load falls on both. Ratio = ORT time / realm time (above 1: realm faster).\n')
print('| batch | forwards each | realm median ms | ORT median ms | ratio (median) | ratio (mean) | ratio (p10) | realm bf16-weights median ms | bf16 ratio (median) | bf16 ratio (p10) |')
print('|---|---|---|---|---|---|---|---|---|---|')
for b in sorted(rows, reverse=True):
    r, h, o, q, qh = rows[b]['realm'], rows[b]['realm-bf16'], rows[b]['ort'], rows[b]['ratio-realm'], rows[b]['ratio-realm-bf16']
    print(f"| {b} | {r['forwards']} | {float(r['median_ms']):.2f} | {float(o['median_ms']):.2f} | {float(q['median']):.2f}x | "
          f"{float(q['mean']):.2f}x | {float(q['p10']):.2f}x | {float(h['median_ms']):.2f} | {float(qh['median']):.2f}x | {float(qh['p10']):.2f}x |")
PY
echo "updated the '$section' section of docs/benchmarks.md"
