#!/usr/bin/env bash
# One REALM pre-training step at all-MiniLM-L6-v2 sizes, this engine against PyTorch 1.13 (Debian's
# python3-torch, scripts/peers/torch_realm_step.py) with the same shapes and work: B=2 queries of
# 32 wordpieces, k=8 blocks of 128 wordpieces plus the null document, T~2 masked tokens per query
# (random-span masking of 1-3 one-wordpiece words), per-token marginal, AdamW, 2 threads. A
# synthetic corpus of one-wordpiece words makes every block and query exactly that long.
# Also: where the engine's step time goes (metrics.jsonl phase_s), peak RSS, and a second run with
# refresh_every 4 measuring what a background refresh costs the steps it overlaps.
# Updates the 'realm-step' section of docs/benchmarks.md. ISA=avx2: this engine with -XX:UseAVX=2
# and PyTorch with ATEN_CPU_CAPABILITY=avx2, into the 'realm-step-avx2' section.
set -euo pipefail
cd "$(dirname "$0")/.."
ISA=${ISA:-native}; section=realm-step; isa_note="widest vectors each"
case "$ISA" in
  native) ;;
  avx2) section=realm-step-avx2; export ATEN_CPU_CAPABILITY=avx2 REALM_JAVA_OPTS="${REALM_JAVA_OPTS:-} -XX:UseAVX=2"
        isa_note="AVX2: this engine -XX:UseAVX=2, PyTorch ATEN_CPU_CAPABILITY=avx2" ;;
  *) echo "ISA must be native or avx2, not '$ISA'" >&2; exit 2 ;;
esac
source "$(dirname "$0")/lib-isa.sh"
section=$(isa_section realm-step); label=$(isa_label realm-step); cpu=$(isa_cpu)
source bin/find-jdk.sh
bin/mvn -q -DskipTests package
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "installing Debian's python3-torch (the PyTorch peer)"; apt-get install -y python3-torch >/dev/null
fi
# Debian's torch multiplies through libblas.so.3: without OpenBLAS installed that is the reference
# BLAS (measured: 6 GFLOP/s, a MiniLM forward of 16 x 128 tokens in 17.8 s), not a fair peer
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || apt-get install -y libopenblas0-pthread >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
steps=${STEPS:-14}
python3 scripts/onepiece-corpus.py "$work/corpus.jsonl" 400 128
python3 - "$work" "$steps" <<'PY'
import json, os, random, sys
work, steps = sys.argv[1], int(sys.argv[2])
for name, refresh in (("step", 1000), ("refresh", 4)):
    json.dump({"corpus": {"path": f"{work}/corpus.jsonl"}, "init": {}, "projection_dim": 128, "k": 8, "query_len": 32, "block_len": 128,
               "batch": 2, "steps": steps, "lr": 1e-5, "warmup": 1, "refresh_every": refresh, "masking": "random-span",
               "checkpoint_dir": f"{work}/{name}", "checkpoint_every": 100000, "seed": 1, "threads": 2}, open(f"{work}/{name}.json", "w"))
PY
/usr/bin/time -v bin/realm pretrain --config "$work/step.json" 2> "$work/step.log" || { cat "$work/step.log"; exit 1; }
bin/realm pretrain --config "$work/refresh.json" 2> "$work/refresh.log" || { cat "$work/refresh.log"; exit 1; }
torch_line=$(/usr/bin/python3 scripts/peers/torch_realm_step.py --batch 2 --k 8 --query-len 32 --block-len 128 --masked 2 --threads 2 --steps 6)
echo "$torch_line"
python3 - "$work" "$torch_line" "$ISA" "$isa_note" "${OPENBLAS_CORETYPE:-auto}" "$label" "$cpu" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md "$section"
import json, re, statistics, sys, os, datetime
work, torch_line = sys.argv[1], sys.argv[2]
def load(name):
    return [json.loads(l) for l in open(f"{work}/{name}/metrics.jsonl")]
m = load("step")[2:]  # the first two steps compile
tps = statistics.median(x["tokens_per_s"] for x in m)
step_s = statistics.median(x["step_s"] for x in m)
phases = {k: statistics.median(x["phase_s"].get(k, 0) for x in m) for k in m[0]["phase_s"]}
rss = next(int(l.split(":")[1]) for l in open(f"{work}/step.log") if "Maximum resident set size" in l) / 1024
theirs = float(re.search(r"([\d.]+) tokens/s", torch_line).group(1))
r = load("refresh")
overlap = [x["step_s"] for x in r[2:] if x["step"] % 4 in (1, 2, 3) and x["step"] >= 4]   # steps a refresh runs beside
quiet = [x["step_s"] for x in load("step")[2:]]
refreshes = [x["refresh_s"] for x in r if x.get("refresh_s") is not None]
waits = [x["index_wait_s"] for x in r if x["index_wait_s"] > 0]
cpu = sys.argv[7]
print(f"## REALM pre-training step against PyTorch, {sys.argv[6]} (scripts/bench-realm-step.sh)\n")
print(f"Command: `ISA={sys.argv[3]} scripts/bench-realm-step.sh` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}; {sys.argv[4]}; "
      f"OPENBLAS_CORETYPE={sys.argv[5]} (PyTorch multiplies through OpenBLAS). all-MiniLM-L6-v2 towers and reader, "
      "B=2 queries of 32 wordpieces, k=8 blocks of 128 + the null document, ~2 masked tokens per query, per-token marginal, AdamW, 2 threads; "
      f"{torch_line.split(':')[0]} (Debian python3-torch) with the same shapes (scripts/peers/torch_realm_step.py). Tokens counted alike: "
      f"query + document + reader tokens of a step ({statistics.median(x['tokens'] for x in m):.0f} here); median over the timed steps.\n")
print("| realm tokens/s | PyTorch tokens/s | realm / PyTorch | realm s/step | peak RSS |")
print("|---|---|---|---|---|")
print(f"| {tps:.0f} | {theirs:.0f} | {tps / theirs:.2f}x | {step_s:.2f} | {rss:.0f} MB |\n")
print("Where a step's time goes (median seconds per phase):\n")
print("| " + " | ".join(phases) + " |")
print("|" + "---|" * len(phases))
print("| " + " | ".join(f"{v:.3f}" for v in phases.values()) + " |\n")
if refreshes:
    print(f"Refresh beside training (refresh_every 4, {len(refreshes)} refreshes of 400 blocks): a refresh took {statistics.median(refreshes):.1f} s "
          f"on the thread beside the steps; steps it overlapped took {statistics.median(overlap):.2f} s against {statistics.median(quiet):.2f} s "
          f"without one ({statistics.median(overlap) / statistics.median(quiet):.2f}x); steps waited for it {len(waits)} times, "
          f"median {statistics.median(waits) if waits else 0:.2f} s.")
PY
echo "updated the '$section' section of docs/benchmarks.md"
