#!/usr/bin/env bash
# Can a random tiny BERT reader learn to copy an answer from the block it reads, and how fast
# (ReaderCopyExperiment; docs/experiments.md, "Why the random reader does not read")? One line per
# run: the source, learning rate, dropout, batch, null mixture, and the training accuracy after
# 200 / 400 / 600 steps; then the reader's shape and initialisation varied on the corpus source
# (JVM flags of ReaderCopyExperiment: -Dlayers -Dheads -Dhidden -Dpos=sin:SCALE -Dqk -Dov -Dhead -Dwarm).
#   scripts/experiment-copy.sh [corpus.jsonl]   (default build/synthetic/corpus.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-build/synthetic/corpus.jsonl}"
[ -f "$corpus" ] || bin/realm synthetic --out "$(dirname "$corpus")" --people 200 --seed 1
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
run() {
  local out
  out=$("$java" ${FLAGS:-} --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
    org.realmjava.bench.ReaderCopyExperiment "$@" 2>/dev/null | grep '^step')
  if [ -n "${FLAGS+x}" ]; then printf '| %s | %s |' "${FLAGS:-BERT init}" "$2"
  else printf '| %s | %s | %s | %s | %s |' "${1##*/}" "$2" "$3" "$4" "${6:-}"; fi
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
echo
echo "| reader shape / init (corpus, numbers swapped, dropout 0, batch 32) | lr | acc@200 | acc@400 | acc@600 |"
echo "|---|---|---|---|---|"
for f in "" "-Dpos=sin:0.02" "-Dpos=sin:0.1" "-Dheads=4" "-Dlayers=4" "-Dhidden=256 -Dheads=4" "-Dqk=0.05" "-Dqk=0.1" "-Dov=1" "-Dhead=1" \
         "-Dqk=0.05 -Dov=1" "-Dqk=0.05 -Dov=1 -Dhead=1" "-Dqk=0.07 -Dov=1 -Dhead=1" "-Dqk=0.05 -Dov=2 -Dhead=1"; do
  FLAGS="$f" run "$corpus" 0.001 0 32 600
done
FLAGS="-Dqk=0.05 -Dov=1 -Dwarm=200" run "$corpus" 0.002 0 32 600
FLAGS="-Dqk=0.05 -Dov=1 -Dhead=1" run "$corpus" 0.0015 0 32 600
