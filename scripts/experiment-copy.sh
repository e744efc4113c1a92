#!/usr/bin/env bash
# Can a random tiny BERT reader learn to copy an answer from the block it reads, and how fast
# (ReaderCopyExperiment; docs/experiments.md, "Why the random reader does not read")? One line per
# run: the source, learning rate, dropout, batch, null mixture, and the training accuracy after
# 200 / 400 / 600 steps.   scripts/experiment-copy.sh [corpus.jsonl]   (default build/synthetic/corpus.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-build/synthetic/corpus.jsonl}"
[ -f "$corpus" ] || bin/realm synthetic --out "$(dirname "$corpus")" --people 200 --seed 1
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
run() {
  local out
  out=$("$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
    org.realmjava.bench.ReaderCopyExperiment "$@" 2>/dev/null | grep '^step')
  printf '| %s | %s | %s | %s | %s |' "${1##*/}" "$2" "$3" "$4" "${6:-}"
  for s in 200 400 600; do printf ' %s |' "$(echo "$out" | awk -v s="$s" '$2 == s {print $6}')"; done
  echo
}
echo "| source | lr | dropout | batch | null mixture | acc@200 | acc@400 | acc@600 |"
echo "|---|---|---|---|---|---|---|---|"
run type 0.003 0 32 600
run type 0.003 0 16 600
run type 0.001 0 16 600
run type 0.001 0.1 16 600
run cue 0.001 0 32 600
run cue 0.002 0 32 600
run cue 0.001 0.1 32 600
run "$corpus" 0.001 0 32 600
run "$corpus" 0.001 0 32 600 null
run "realm:$corpus" 0.001 0 32 600
run "realm:$corpus" 0.001 0 32 600 null
