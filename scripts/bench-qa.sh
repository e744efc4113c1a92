#!/usr/bin/env bash
# Open-QA performance: `realm ask` from a cold start (a new process, wall clock), the Java API's
# load, first and warm asks (QaLatency), `eval` questions/s, and the fine-tuning step's tokens/s
# (median of metrics.jsonl after its first 10 steps). Runs on the demo's output (realm demo first).
# Updates the 'qa' section of docs/benchmarks.md.   scripts/bench-qa.sh [demo dir]
source "$(dirname "$0")/lib-jmh.sh"
demo=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/realm-java/demo}
[ -f "$demo/summary.txt" ] || { echo "needs a finished demo in $demo (bin/realm demo --out $demo)"; exit 2; }
ck="$demo/finetune"
cold=()
for i in 1 2 3; do
  s=$(date +%s.%N); bin/realm ask --checkpoint "$ck" "What is the capital of France?" > /dev/null 2>&1; e=$(date +%s.%N)
  cold+=("$(python3 -c "print(f'{$e - $s:.2f}')")")
done
line=$("$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
  -cp benchmarks/target/benchmarks.jar org.realmjava.bench.QaLatency "$ck" "$demo/heldout.jsonl" 5 30 2>/dev/null | tail -1)
echo "cold ask (process): ${cold[*]} s; $line"
python3 - "$demo" "${cold[*]}" "$line" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md qa
import sys, os, json, datetime, statistics
demo, cold, line = sys.argv[1], sys.argv[2].split(), sys.argv[3]
kv = dict(x.split('=') for x in line.split())
m = [json.loads(l) for l in open(os.path.join(demo, 'finetune', 'metrics.jsonl'))][10:]
tps = statistics.median(x['tokens_per_s'] for x in m if x.get('tokens_per_s'))
step = statistics.median(x['step_s'] for x in m if x.get('step_s'))
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
print('## Open-QA: ask latency, eval throughput, fine-tuning step (scripts/bench-qa.sh)\n')
print(f'Command: `scripts/bench-qa.sh` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}, on the output of `realm demo` '
      f'({kv["blocks"]} WordNet blocks of <= 64 wordpieces, all-MiniLM-L6-v2-sized towers and reader, k = {kv["k"]}).\n')
print('| measure | value |')
print('|---|---|')
print(f'| `realm ask` from a cold start (new JVM: load checkpoint + index, answer; 3 runs) | {" / ".join(cold)} s |')
print(f'| Java API: `Realm.open` (model, span head, blocks, mmap index) | {float(kv["load_s"]):.2f} s |')
print(f'| Java API: first ask in a fresh JVM | {float(kv["first_ask_s"]):.3f} s |')
print(f'| Java API: warm ask, median (p90) of 30 | {1000*float(kv["warm_ask_median_s"]):.0f} ms ({1000*float(kv["warm_ask_p90_s"]):.0f} ms) |')
print(f'| `eval` (dense + BM25 recall, reader on the dense top k), {kv["eval_questions"]} questions | {float(kv["eval_q_per_s"]):.1f} questions/s |')
print(f'| fine-tuning step (demo: 8 questions x 5 blocks), median after step 10 | {tps:.0f} tokens/s, {step:.2f} s/step |')
PY
echo "updated the 'qa' section of docs/benchmarks.md"
