#!/usr/bin/env bash
# kill -9 check of `realm pretrain` (or `ict`, `finetune`): one uninterrupted run, and one killed with SIGKILL at random
# moments (KILLS times) and restarted with the same command each time; then the per-step losses
# and the final checkpoint's files of the two runs are compared byte for byte. Both runs use the
# config with checkpoint_dir moved to a temporary folder and checkpoint_every = steps / 8.
#   scripts/check-pretrain-resume.sh [config] [kills] [command]   (default configs/pretrain-smoke.json, 3, pretrain)
#   scripts/check-pretrain-resume.sh configs/finetune-smoke.json 3 finetune
#   scripts/check-pretrain-resume.sh all [kills]   (the smoke configs of pretrain, ict and finetune in turn)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${1:-}" = all ]; then
  for c in pretrain ict finetune; do
    echo "== $c"
    "$0" "$here/configs/$c-smoke.json" "${2:-3}" "$c"
  done
  exit 0
fi
config="$(cd "$(dirname "${1:-$here/configs/pretrain-smoke.json}")" && pwd)/$(basename "${1:-configs/pretrain-smoke.json}")"
kills="${2:-3}"
command="${3:-pretrain}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# the same config with its checkpoint_dir moved into the work folder (other paths stay as they were)
make_config() {
  python3 - "$config" "$1" "$2" <<'PY'
import json, os, sys
src, out, run = sys.argv[1:4]
c = json.load(open(src))
base = os.path.dirname(src)
for key in ("corpus", "train"):
    if key in c and "path" in c[key] and not os.path.isabs(c[key]["path"]):
        c[key]["path"] = os.path.join(base, c[key]["path"])
c["checkpoint_dir"] = run
# checkpoints often enough that every kill has one to resume from
c["checkpoint_every"] = max(1, c.get("steps", 1000) // 8)
json.dump(c, open(out, "w"))
PY
}
make_config "$work/a.json" "$work/a"
make_config "$work/b.json" "$work/b"
steps=$(python3 -c "import json,sys; print(json.load(open('$work/a.json')).get('steps', 1000))")
echo "uninterrupted run ($steps steps)..."
"$here/bin/realm" "$command" --config "$work/a.json" 2> "$work/a.log"
for i in $(seq 1 "$kills"); do
  done_steps=$( (wc -l < "$work/b/metrics.jsonl") 2>/dev/null || echo 0)
  # kill i lands at a random step of the i-th (kills + 1)-th of the run
  target=$(( steps * i / (kills + 1) - RANDOM % (steps / (2 * (kills + 1)) + 1) ))
  [ "$target" -le "$done_steps" ] && target=$(( done_steps + 1 ))
  "$here/bin/realm" "$command" --config "$work/b.json" 2>> "$work/b.log" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    n=$( (wc -l < "$work/b/metrics.jsonl") 2>/dev/null || echo 0)
    if [ "$n" -ge "$target" ]; then sleep "0.$((RANDOM % 10))"; kill -9 "$pid" 2>/dev/null || true; break; fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
  echo "kill $i: after $( (wc -l < "$work/b/metrics.jsonl") 2>/dev/null || echo 0) metric lines"
done
"$here/bin/realm" "$command" --config "$work/b.json" 2>> "$work/b.log"
grep -h "resuming from step" "$work/b.log" || true
cut_losses() { python3 -c "import json,sys; [print(json.loads(l)['step'], json.loads(l)['loss']) for l in open(sys.argv[1])]" "$1"; }
if diff <(cut_losses "$work/a/metrics.jsonl") <(cut_losses "$work/b/metrics.jsonl") > "$work/diff.txt"; then
  echo "per-step losses: identical ($steps steps)"
else
  echo "per-step losses DIFFER:"; head -20 "$work/diff.txt"; exit 1
fi
final=$(basename "$(ls -d "$work"/a/step-* | tail -1)")
status=0
for f in $(cd "$work/a/$final" && find . -type f | sort); do
  cmp -s "$work/a/$final/$f" "$work/b/$final/$f" || { echo "final checkpoint file differs: $f"; status=1; }
done
[ "$status" = 0 ] && echo "final checkpoint $final: every file identical"
exit $status
