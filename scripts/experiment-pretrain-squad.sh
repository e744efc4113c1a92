#!/usr/bin/env bash
# The pre-training experiment of docs/experiments.md: on the SQuAD dev paragraphs, from the
# built-in all-MiniLM-L6-v2, (a) REALM with salient-span masking, (b) the same without retrieval,
# (c) REALM with random-span masking, (d) (a) with the retriever's learning rate at 0.1x; each
# evaluated before (the shared starting model) and after
# on held-out sentences and on the retrieval of SQuAD dev questions of articles 36-47.
# Needs ../shared/data/squad/dev-v1.1.json. Results: build/experiments/*.json (one JSON line each).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
squad="$here/../shared/data/squad/dev-v1.1.json"
[ -f "$squad" ] || { echo "needs $squad (../shared/data)"; exit 2; }
out="$here/build/experiments"
mkdir -p "$out"
# run a snapshot of the build, so that rebuilding meanwhile cannot change the classes under a run
mkdir -p "$out/app" && cp "$here/trainer/target/realm.jar" "$out/app/" && rm -rf "$out/app/lib" && cp -r "$here/trainer/target/lib" "$out/app/lib"
export REALM_JAR="$out/app/realm.jar"
eval_args=(--questions "$squad" --articles 36-47 --heldout 300 --k 1,5,20 --examples 3)
cfg="$here/configs/experiments"
if [ ! -f "$out/step0.json" ]; then
  "$here/bin/realm" pretrain-eval --config "$cfg/squad-realm-salient.json" --checkpoint init "${eval_args[@]}" > "$out/step0.txt" 2> "$out/step0.log"
  tail -1 "$out/step0.txt" > "$out/step0.json"
fi
for name in squad-realm-salient squad-no-retrieval squad-realm-random-span squad-realm-salient-slow-retriever; do
  [ -f "$out/$name.json" ] && continue  # done: delete its .json to run it again
  /usr/bin/time -v "$here/bin/realm" pretrain --config "$cfg/$name.json" 2> "$out/$name.train.log"
  "$here/bin/realm" pretrain-eval --config "$cfg/$name.json" "${eval_args[@]}" > "$out/$name.txt" 2> "$out/$name.eval.log"
  tail -1 "$out/$name.txt" > "$out/$name.json"
done
# (c) on the held-out queries masked as (a), (b) and (d) are (salient spans), for a like-for-like accuracy
if [ ! -f "$out/squad-realm-random-span.salient.json" ]; then
  "$here/bin/realm" pretrain-eval --config "$cfg/squad-realm-salient.json" --checkpoint "$out/squad-realm-random-span" --heldout 300 --examples 0 \
    > "$out/squad-realm-random-span.salient.txt" 2> "$out/squad-realm-random-span.salient.log"
  tail -1 "$out/squad-realm-random-span.salient.txt" > "$out/squad-realm-random-span.salient.json"
fi
cat "$out"/*.json
