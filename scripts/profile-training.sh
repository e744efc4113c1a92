#!/usr/bin/env bash
# Where an MLM training step's time goes (MiniLM-L6 sizes): forward / backward / AdamW and the
# backward by op, from the autograd's own timer (-Drealm.autograd.profile=true; off otherwise).
# Usage: scripts/profile-training.sh [batch=32] [len=128] [warmupSteps=4] [steps=8]
# Prints the table and updates the 'training-profile' section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/find-jdk.sh
bin/mvn -q -DskipTests package
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate -Xmx8g \
  -Drealm.autograd.profile=true -cp benchmarks/target/benchmarks.jar org.realmjava.bench.TrainingProfile "$@" 2>/dev/null | tee "$out"
python3 - "$out" "$*" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md training-profile
import sys, os, datetime
lines = open(sys.argv[1]).read().splitlines()
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
print('## Where a training step goes (scripts/profile-training.sh)\n')
print(f'Command: `scripts/profile-training.sh {sys.argv[2]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'MiniLM-L6 sizes, logits at the masked positions, dropout 0.1, AdamW. A linear\'s backward includes its two GEMMs '
      'and the gradient sums it triggers.\n')
print(lines[0] + '; ' + lines[1] + '\n')
print('| op (backward) | ms per step |')
print('|---|---|')
for l in lines[3:]:
    name, ms = l.split()
    print(f'| {name} | {ms} |')
PY
echo "updated the 'training-profile' section of docs/benchmarks.md"
