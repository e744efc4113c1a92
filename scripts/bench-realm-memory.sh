#!/usr/bin/env bash
# Peak memory of a REALM pre-training step at the sizes REALM's users ran out of memory with:
# all-MiniLM-L6-v2 query tower, document tower and reader, batch 4 queries of 96 wordpieces, k = 8
# blocks of 288 plus the null document, AdamW over all three BERTs; once keeping every activation
# for the backward and once with recompute_layers (each layer of the reader and the document tower
# run again in the backward); each with the JVM's default heap (a quarter of the machine's memory, which a
# throughput collector fills before it collects) and with the heap bounded by -Xmx2g. Reports peak
# RSS (/usr/bin/time -v) and the median step time of each, into the 'realm-memory' section of
# docs/benchmarks.md. STEPS (default 5) steps each, the first two untimed.
#   scripts/bench-realm-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/find-jdk.sh
bin/mvn -q -DskipTests package
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
steps=${STEPS:-5}
python3 scripts/onepiece-corpus.py "$work/corpus.jsonl" 300 288
python3 - "$work" "$steps" <<'PY'
import json, os, random, sys
work, steps = sys.argv[1], int(sys.argv[2])
for name, recompute in (("kept", False), ("recomputed", True)):
    json.dump({"corpus": {"path": f"{work}/corpus.jsonl"}, "init": {}, "projection_dim": 128, "k": 8, "query_len": 96, "block_len": 288,
               "batch": 4, "steps": steps, "lr": 1e-5, "warmup": 1, "refresh_every": 1000, "masking": "random-span",
               "recompute_layers": recompute, "checkpoint_dir": f"{work}/{name}", "checkpoint_every": 100000, "seed": 1, "threads": 2},
              open(f"{work}/{name}.json", "w"))
PY
for heap in default 2g; do
  opts=""; [ "$heap" = 2g ] && opts="-Xmx2g"
  for name in kept recomputed; do
    rm -rf "$work/$name"
    REALM_JAVA_OPTS="${REALM_JAVA_OPTS:-} $opts" /usr/bin/time -v bin/realm pretrain --config "$work/$name.json" 2> "$work/$name.$heap.log" \
      || { cat "$work/$name.$heap.log"; exit 1; }
    mkdir -p "$work/$heap" && mv "$work/$name" "$work/$heap/$name"
  done
done
python3 - "$work" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md realm-memory
import json, statistics, sys, os, datetime
work = sys.argv[1]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("## Memory of a REALM step, activations kept or recomputed (scripts/bench-realm-memory.sh)\n")
print(f"Command: `scripts/bench-realm-memory.sh` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. all-MiniLM-L6-v2 query tower, "
      "document tower and reader (all three trained, AdamW), batch 4 queries of 96 wordpieces, k = 8 blocks of 288 + the null document, "
      "random-span masks; peak RSS of the whole `realm pretrain` process (/usr/bin/time -v: JVM heap, tensors, the index), "
      "median step time over the steps after the first two.\n")
print("| JVM heap | reader and document-tower activations | peak RSS | s/step | tokens per step |")
print("|---|---|---|---|---|")
rows = {}
for heap, hl in (("default", "default (1/4 of memory)"), ("2g", "`-Xmx2g`")):
    for name, label in (("kept", "kept (default)"), ("recomputed", "recomputed (`recompute_layers: true`)")):
        m = [json.loads(l) for l in open(f"{work}/{heap}/{name}/metrics.jsonl")]
        rss = next(int(l.split(":")[1]) for l in open(f"{work}/{name}.{heap}.log") if "Maximum resident set size" in l) / 1024
        step = statistics.median(x["step_s"] for x in m[2:])
        rows[heap, name] = (rss, step)
        print(f"| {hl} | {label} | {rss:.0f} MB | {step:.2f} | {statistics.median(x['tokens'] for x in m):.0f} |")
for heap in ("default", "2g"):
    (kr, ks), (rr, rs) = rows[heap, "kept"], rows[heap, "recomputed"]
    print(f"\nHeap {heap}: recomputation takes {kr - rr:.0f} MB off the peak ({rr / kr:.2f}x), each step {rs / ks:.2f}x the time.", end="")
print()
PY
echo "updated the 'realm-memory' section of docs/benchmarks.md"
