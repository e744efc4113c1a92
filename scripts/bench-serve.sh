#!/usr/bin/env bash
# Load test of `realm serve` on loopback (ServeLoad, a small Java client): the demo's fine-tuned
# checkpoint (run `bin/realm demo` first, or CHECKPOINT=dir) answering its held-out questions at k 5.
#  1. warm latency of one question at a time: in-process Realm.ask (QaLatency, 300 asks after 10) against HTTP at
#     concurrency 1 (300 asks after 20), while the server idles;
#  2. throughput and p50/p95/p99 at concurrency 1, 4, 16 (REQUESTS each, at most MAX_S seconds);
#  3. 5 hot swaps (POST /v1/admin/reload) under load at concurrency 4;
#  4. 200 malformed requests of 10 kinds beside the load;
#  5. a soak of SOAK_S seconds (default 600) at concurrency 4, the server's RSS every 10 s.
# Writes the 'serve' section of docs/benchmarks.md.
#   scripts/bench-serve.sh            SOAK_S=60 scripts/bench-serve.sh (a shorter soak)
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/find-jdk.sh
bin/mvn -q -DskipTests package
demo=${CHECKPOINT:-${XDG_CACHE_HOME:-$HOME/.cache}/realm-java/demo/finetune}
questions=${QUESTIONS:-${XDG_CACHE_HOME:-$HOME/.cache}/realm-java/demo/heldout.jsonl}
[ -d "$demo" ] || { echo "no checkpoint at $demo: run 'bin/realm demo' first or set CHECKPOINT" >&2; exit 2; }
requests=${REQUESTS:-300}; max_s=${MAX_S:-60}; soak_s=${SOAK_S:-600}; k=5
work=$(mktemp -d)
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
bin/realm serve --checkpoint "$demo" --port "$port" 2> "$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for i in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 1; done
# the JVM's pid (bin/realm execs java, so it is the server process itself)
jvm=$server
load() { "$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/benchmarks.jar" \
  org.realmjava.bench.ServeLoad "http://127.0.0.1:$port" "$questions" "$@" 2> >(grep -v WARNING >&2); }
inproc=$("$REALM_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate \
  -cp benchmarks/target/benchmarks.jar org.realmjava.bench.QaLatency "$demo" "$questions" $k 300 2>/dev/null | tail -1)
levels=$(load levels 1,4,16 "$requests" "$max_s" $k)
swaps=$(load swaps 4 60 5 $k)
malformed=$(load malformed 4 30 $k)
soak=$(load soak 4 "$soak_s" $k "$jvm")
python3 - "$inproc" "$levels" "$swaps" "$malformed" "$soak" "$soak_s" "$demo" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md serve
import datetime, json, os, sys
inproc, levels, swaps, malformed, soak, soak_s, demo = sys.argv[1:]
kv = dict(x.split("=") for x in inproc.split())
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
lv = json.loads(levels.strip().splitlines()[-1])
rtt = lv.pop(0)["health_rtt_median_s"]
print("## realm serve under load (scripts/bench-serve.sh)\n")
print(f"Command: `scripts/bench-serve.sh` (SOAK_S={soak_s}) on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. The demo's fine-tuned "
      f"checkpoint ({kv['blocks']} blocks), its held-out questions round robin, k = 5, `realm serve` defaults (batches of at most 16, "
      "queue 64), client and server on the same 2 cores over loopback (the client's threads take CPU from the server).\n")
one = lv[0]
inp = float(kv['warm_ask_median_s'])
print(f"One question at a time: in-process `Realm.ask` median {1e3 * inp:.0f} ms (QaLatency, 300 asks), over HTTP "
      f"p50 {1e3 * one['p50_s']:.0f} ms (concurrency 1 below); difference {1e3 * (one['p50_s'] - inp):+.1f} ms. The HTTP round trip "
      f"alone (`GET /health`, median of 200): {1e3 * rtt:.2f} ms.\n")
print("\n".join(l for l in levels.strip().splitlines()[:-1]) + "\n")
sw = json.loads(swaps.strip().splitlines()[-1])
print(f"Hot swaps under load (concurrency 4, 60 s): {sw['swaps_ok']} of {sw['swaps']} reloads of the checkpoint succeeded "
      f"(mean {sw['mean_swap_s']:.1f} s each, the new generation loaded beside the old); {sw['requests']} questions asked meanwhile, "
      f"{sw['errors']} failed.\n")
mf = json.loads(malformed.strip().splitlines()[-1])
print(f"Malformed requests beside the load: {mf['bad_sent']} of 10 kinds, {mf['bad_not_4xx_json']} not answered with a 4xx JSON error; "
      f"{mf['good']} good questions meanwhile, {mf['good_errors']} failed; /health afterwards: {mf['health']}.\n")
sk = json.loads(soak.strip().splitlines()[-1])
print(f"Soak ({soak_s} s at concurrency 4): {sk['requests']} questions, {sk['errors']} errors; server RSS {sk['rss_start_mb']:.0f} MB at the start, "
      f"{sk['rss_after_1min_mb']:.0f} MB after a minute, {sk['rss_end_mb']:.0f} MB at the end (max {sk['rss_max_mb']:.0f} MB).")
PY
echo "updated the 'serve' section of docs/benchmarks.md"
