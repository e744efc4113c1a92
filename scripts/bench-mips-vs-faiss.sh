#!/usr/bin/env bash
# Exact MIPS, this engine against FAISS IndexFlatIP, on the same vectors and queries in one run.
# Usage: scripts/bench-mips-vs-faiss.sh [N=1000000] [d=128] [k=10] [threads=2]
# Installs Debian's python3-faiss, python3-numpy and libopenblas0-pthread when missing (needs root).
# Prints both throughputs and the ratio, and updates the 'mips-vs-faiss' section of docs/benchmarks.md.
# ISA=avx2 runs this engine with -XX:UseAVX=2 (at most 256-bit vectors and AVX2 instructions, as on a
# Zen 3) and writes the 'mips-vs-faiss-avx2' section instead; FAISS's Debian build and its OpenBLAS
# pick their kernels themselves (the table says which they report).
set -euo pipefail
N=${1:-1000000}; D=${2:-128}; K=${3:-10}; T=${4:-2}
SINGLE=${SINGLE:-200}; BATCH=${BATCH:-1024}; ISA=${ISA:-native}
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
section=mips-vs-faiss; isa_note="the JVM's widest vectors"
case "$ISA" in
  native) ;;
  avx2) export REALM_JAVA_OPTS="${REALM_JAVA_OPTS:-} -XX:UseAVX=2"; section=mips-vs-faiss-avx2; isa_note="-XX:UseAVX=2 (256-bit vectors, AVX2)" ;;
  *) echo "ISA must be native or avx2, not '$ISA'" >&2; exit 2 ;;
esac
source scripts/lib-isa.sh
section=$(isa_section mips-vs-faiss); label=$(isa_label mips-vs-faiss)
PY=/usr/bin/python3
# OpenBLAS too: without it Debian's FAISS multiplies through the reference BLAS (~2 GFLOP/s), no fair peer
if ! $PY -c 'import faiss, numpy' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  echo "installing python3-faiss, python3-numpy, libopenblas0-pthread ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-faiss python3-numpy libopenblas0-pthread >/dev/null
fi
bin/mvn -q -DskipTests package
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "data: N=$N d=$D k=$K threads=$T (Gaussian, seed 0) in $work" >&2
$PY - "$work" "$N" "$D" "$BATCH" <<'PY'
import sys, numpy as np
w, n, d, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
np.save(f'{w}/db.npy', rng.standard_normal((n, d), dtype=np.float32))
np.save(f'{w}/q.npy', rng.standard_normal((b, d), dtype=np.float32))
PY
$PY - "$work" "$K" "$T" "$SINGLE" > "$work/faiss.txt" <<'PY'
import sys, time, numpy as np, faiss
w, k, t, single = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
faiss.omp_set_num_threads(t)
db, q = np.load(f'{w}/db.npy'), np.load(f'{w}/q.npy')
ix = faiss.IndexFlatIP(db.shape[1]); ix.add(db)
ix.search(q[:1], k)  # warm-up
t0 = time.perf_counter()
for i in range(single): ix.search(q[i:i + 1], k)
s1 = single / (time.perf_counter() - t0)
t0 = time.perf_counter(); _, ids = ix.search(q, k); sb = len(q) / (time.perf_counter() - t0)
np.save(f'{w}/faiss_ids.npy', ids)
print(f'{s1:.1f} {sb:.1f}')
PY
read faiss_single faiss_batch < "$work/faiss.txt"
qps() { grep -o '[0-9.]* queries/s' | awk '{print $1}'; }
$PY -c "import numpy as np; q=np.load('$work/q.npy'); np.save('$work/q1.npy', q[:$SINGLE])"
rows=""
for dt in f32 bf16; do
  bin/realm index build --vectors "$work/db.npy" --dtype $dt --out "$work/ix-$dt" 2>&1 | tail -1 >&2
  # one warm-up pass, then the measured ones
  bin/realm index search --index "$work/ix-$dt" --queries "$work/q1.npy" --k "$K" --batch 1 --threads "$T" --no-verify --out "$work/w.tsv" 2>/dev/null
  s1=$(bin/realm index search --index "$work/ix-$dt" --queries "$work/q1.npy" --k "$K" --batch 1 --threads "$T" --no-verify --out "$work/r1-$dt.tsv" 2>&1 | qps)
  line=$(bin/realm index search --index "$work/ix-$dt" --queries "$work/q.npy" --k "$K" --threads "$T" --no-verify --out "$work/rb-$dt.tsv" 2>&1 | tail -1)
  sb=$(echo "$line" | qps); kernel=$(echo "$line" | grep -o '[a-z0-9]* scan' | awk '{print $1}')
  agree=$($PY - "$work/rb-$dt.tsv" "$work/faiss_ids.npy" "$K" <<'PY'
import sys, numpy as np
f = np.load(sys.argv[2]); k = int(sys.argv[3]); hit = 0
ours = {}
for line in open(sys.argv[1]):
    q, r, i, s = line.split('\t'); ours.setdefault(int(q), set()).add(int(i))
for q in range(f.shape[0]): hit += len(ours.get(q, set()) & set(f[q].tolist()))
print(f'{hit / f.size:.4f}')
PY
)
  rows+="| $dt | 1 (x$SINGLE) | $s1 | $faiss_single | $($PY -c "print(f'{$s1/$faiss_single:.2f}x')") | |"$'\n'
  rows+="| $dt | $BATCH | $sb | $faiss_batch | $($PY -c "print(f'{$sb/$faiss_batch:.2f}x')") | $agree |"$'\n'
done
faiss_opts=$($PY -c 'import faiss; print(faiss.__version__, faiss.get_compile_options())')
table="## Exact MIPS against FAISS IndexFlatIP, $label (scripts/bench-mips-vs-faiss.sh)

Command: \`ISA=$ISA scripts/bench-mips-vs-faiss.sh $N $D $K $T\` on $(isa_cpu), $(nproc) cores, $(date -u +%Y-%m-%d).
This engine: $isa_note, scan kernel $kernel. FAISS $faiss_opts (Debian; its batched search is OpenBLAS sgemm, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}) always searches f32.
N=$N, d=$D, k=$K, $T threads, Gaussian vectors.
queries/s count the search phase only (index open, data mapped). Overlap: fraction of this engine's top-k ids that FAISS also returned.

| storage (ours) | queries per call | realm queries/s | FAISS queries/s | ratio | overlap with FAISS |
|---|---|---|---|---|---|
$rows"
echo "$table"
echo "$table" | python3 scripts/replace-section.py docs/benchmarks.md "$section"
