#!/usr/bin/env bash
# REALM on a synthetic world (docs/experiments.md, "Synthetic world"): writes the world
# (realm synthetic, 200 people, seed 1) into build/synthetic, runs each config given (default: the
# three synthetic-*.json of configs/experiments) with `realm pretrain`, timing it, then evaluates
# its starting model, its ICT stage (if any) and each kept checkpoint on the world's probes.
# Results: build/experiments/<config>.evals.jsonl (one pretrain-eval JSON line per checkpoint, with
# "step" and "seconds"), build/experiments/<config>.<step>.predictions.jsonl (per probe, for paired
# bootstrap intervals: scripts/paired-bootstrap.py) and a table on stdout. Configs run in the order
# given: the synthetic-stages-* chain reads each stage's checkpoint_dir as the next one's init.
#   scripts/experiment-synthetic.sh configs/experiments/synthetic-stages-{1-copy,2-distractors,3-realm,noretrieval}.json
#   scripts/experiment-synthetic.sh [config.json ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bin/mvn -q -DskipTests package
world=build/synthetic
bin/realm synthetic --out "$world" --people 200 --seed 1
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(configs/experiments/synthetic-cold.json configs/experiments/synthetic-cold-noretrieval.json configs/experiments/synthetic-minilm.json)
for c in "${configs[@]}"; do
  name=$(basename "$c" .json)
  dir=$(python3 -c "import json,os,sys; c=sys.argv[1]; print(os.path.normpath(os.path.join(os.path.dirname(c), json.load(open(c))['checkpoint_dir'])))" "$c")
  evals="build/experiments/$name.evals.jsonl"
  mkdir -p build/experiments
  start=$(date +%s)
  bin/realm pretrain --config "$c" 2> "build/experiments/$name.log"
  seconds=$(( $(date +%s) - start ))
  : > "$evals"
  evaluate() { # checkpoint step
    bin/realm pretrain-eval --config "$c" --checkpoint "$1" --probes "$world/probes.jsonl" --heldout 0 --examples 0 \
        --predictions "build/experiments/$name.$2.predictions.jsonl" 2>/dev/null | tail -1 \
      | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['step']=sys.argv[1]; d['seconds']=int(sys.argv[2]); print(json.dumps(d))" "$2" "$seconds" >> "$evals"
  }
  evaluate init init
  [ -d "$dir/ict" ] && evaluate "$dir/ict" ict
  for ck in $(ls -d "$dir"/step-* 2>/dev/null | grep -v corrupt); do evaluate "$ck" "$(basename "$ck" | sed 's/step-0*//')"; done
done
python3 - "${configs[@]}" <<'PY'
import json, os, sys
print("| config | checkpoint | span accuracy % | reading its blocks % | log-likelihood / wordpiece | recall@1 % | recall@5 % | recall@20 % | run seconds |")
print("|---|---|---|---|---|---|---|---|---|")
pct = lambda v: "-" if v is None else f"{100 * v:.1f}"
for c in sys.argv[1:]:
    name = os.path.basename(c)[:-5]
    for line in open(f"build/experiments/{name}.evals.jsonl"):
        d = json.loads(line)
        print(f"| {name} | {d['step']} | {pct(d['span_accuracy'])} | {pct(d.get('reading_span_accuracy'))} | {d['log_likelihood']:.3f} | "
              f"{pct(d.get('recall@1'))} | {pct(d.get('recall@5'))} | "
              f"{pct(d.get('recall@20'))} | {d['seconds']} |")
PY
