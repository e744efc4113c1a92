#!/usr/bin/env bash
# One inference product at a time, our packed-weight GEMM against ONNX Runtime's MatMul (MLAS) on
# the same shape (GemmVsOrt): MiniLM's four products at 2,048 rows (a refresh pass) and QKV at 128
# rows (batch 1), on one thread and on all cores. Each engine runs in its own JVM (ORT's pool
# threads spin on after a run), the two alternating `runs` times per case; the figure is the median
# of the runs' medians. Updates the 'gemm-vs-ort' section of docs/benchmarks.md.
#   scripts/bench-gemm-vs-ort.sh [runs=2]
source "$(dirname "$0")/lib-jmh.sh"
# ONNX Runtime picks its kernels from the processor: an AVX2-only one gets its own section
ISA=native; source scripts/lib-isa.sh; section=$(isa_section gemm-vs-ort); export ISA_SECTION=$section ISA_CPU="$(isa_cpu)"
runs=${1:-2}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
java_run() {
  "$REALM_JDK/bin/java" -Drealm.threads="$1" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
    -cp benchmarks/target/benchmarks.jar org.realmjava.bench.GemmVsOrt "${@:2}" 2>/dev/null | grep '^engine='
}
for shape in "2048 1152 384" "2048 384 384" "2048 1536 384" "2048 384 1536" "128 1152 384"; do
  reps=$(( ${shape%% *} >= 1024 ? 20 : 200 )) # ~1 s a round either way
  for threads in 1 "$(nproc)"; do
    for ((r = 0; r < runs; r++)); do
      for engine in realm ort; do
        line=$(java_run "$threads" $shape "$engine" 10 "$reps")
        echo "$line" | tee -a "$results"
      done
    done
  done
done
python3 - "$runs" "$results" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md "$section"
import sys, os, datetime, statistics
cpu = os.environ['ISA_CPU']
only = os.environ['ISA_SECTION'].endswith('-avx2-only')
rows = {}
for l in open(sys.argv[2]):
    kv = dict(x.split('=', 1) for x in l.split())
    key = (int(kv['m']), int(kv['n']), int(kv['k']), int(kv['threads']))
    rows.setdefault(key, {}).setdefault(kv['engine'], []).append(float(kv['gflops_median']))
names = {(1152, 384): 'QKV', (384, 384): 'attention output', (1536, 384): 'FFN in', (384, 1536): 'FFN out'}
print('## One product against ONNX Runtime\'s MatMul' + (', AVX2-only processor' if only else '') + ' (scripts/bench-gemm-vs-ort.sh)\n')
print(f'Command: `scripts/bench-gemm-vs-ort.sh {sys.argv[1]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'C = A W^T for MiniLM\'s products, our packed-weight path (`SimdKernels.gemmPackedWeight`, A packed inside the product) against a '
      'one-node ONNX MatMul on a constant weight (MLAS), the same inputs (results checked against each other); each engine in its own JVM, '
      f'alternating, {sys.argv[1]} runs each; GFLOP/s = 2mnk / time, median of 9 timed rounds (20 products a round at 2,048 rows, 200 at 128), then the median over the runs. '
      'In the encoder the FFN\'s second product does not pack its A (the first writes it packed), so "FFN out" here costs it more than in a refresh.\n')
print('| product | m x n x k | threads | realm GFLOP/s | ORT GFLOP/s | realm / ORT |')
print('|---|---|---|---|---|---|')
order = list(names)
for (m, n, k, t), e in sorted(rows.items(), key=lambda x: (-x[0][0], order.index(x[0][1:3]) if x[0][1:3] in order else 9, x[0][3])):
    a, b = statistics.median(e.get('realm', [0])), statistics.median(e.get('ort', [0]))
    print(f"| {names.get((n, k), '?')} | {m} x {n} x {k} | {t} | {a:.0f} | {b:.0f} | {a / b:.2f}x |")
PY
echo "updated the '$section' section of docs/benchmarks.md"
