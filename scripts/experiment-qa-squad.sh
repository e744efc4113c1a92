#!/usr/bin/env bash
# The Open-QA experiment of docs/experiments.md: SQuAD dev as an open-domain task (corpus: its
# paragraphs; fine-tune on the questions of articles 0-35, evaluate on articles 36-47): (a) the
# built-in MiniLM retriever and reader without REALM pre-training, (b) from the REALM pre-training
# checkpoint of scripts/experiment-pretrain-squad.sh (run (d), the one that kept its retrieval),
# (c) (a)'s reader on BM25's top k. Same steps, data order and seed for (a) and (b).
# Needs ../shared/data/squad/dev-v1.1.json. Results: build/experiments/qa-*.txt (the last line: EM and recall@5).
#   scripts/experiment-qa-squad.sh [eval questions=300]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
squad="$here/../shared/data/squad/dev-v1.1.json"
[ -f "$squad" ] || { echo "needs $squad (../shared/data)"; exit 2; }
n=${1:-300}
out="$here/build/experiments"
mkdir -p "$out"
[ -d "$out/squad-realm-salient-slow-retriever" ] || { echo "needs the pre-training checkpoint: run scripts/experiment-pretrain-squad.sh first"; exit 2; }
# a snapshot of the build, so that rebuilding meanwhile cannot change the classes under a run
mkdir -p "$out/qa-app" && cp "$here/trainer/target/realm.jar" "$out/qa-app/" && rm -rf "$out/qa-app/lib" && cp -r "$here/trainer/target/lib" "$out/qa-app/lib"
export REALM_JAR="$out/qa-app/realm.jar"
cfg="$here/configs/experiments"
evaluate() { # name checkpoint retriever
  [ -f "$out/qa-$1.txt" ] && return 0  # done: delete it to run again
  "$here/bin/realm" eval --checkpoint "$2" --data "$squad" --articles 36-47 --limit "$n" --k 5 --retriever "$3" \
    --out "$out/qa-$1.predictions.jsonl" > "$out/qa-$1.txt.tmp" 2> "$out/qa-$1.eval.log" && mv "$out/qa-$1.txt.tmp" "$out/qa-$1.txt"
}
for name in squad-qa-minilm squad-qa-realm; do
  [ -f "$out/$name.done" ] || { /usr/bin/time -v "$here/bin/realm" finetune --config "$cfg/$name.json" 2> "$out/$name.train.log" && touch "$out/$name.done"; }
done
evaluate minilm "$out/squad-qa-minilm" dense
evaluate realm "$out/squad-qa-realm" dense
evaluate minilm-bm25 "$out/squad-qa-minilm" bm25
tail -n 8 "$out"/qa-*.txt
