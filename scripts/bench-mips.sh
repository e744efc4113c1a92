#!/usr/bin/env bash
# JMH: exact MIPS queries/s over N x d vectors (steady state, index mapped and warm) and updates
# the 'mips-jmh' section (or $SECTION, headed "... steady state, $TITLE") of docs/benchmarks.md. Extra JMH options pass through, e.g.
#   scripts/bench-mips.sh -p n=100000,1000000 -p d=128,768 -p k=1,10,100,1000 -p q=1,16,64,256,1024
source "$(dirname "$0")/lib-jmh.sh"
out=$(mktemp)
run_jmh MipsBenchmark "$out" "$@"
python3 - "$out" "$*" "${TITLE:-by batch size}" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md "${SECTION:-mips-jmh}"
import json, sys, os, datetime
rows = json.load(open(sys.argv[1]))
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
print(f'## Exact MIPS, JMH steady state, {sys.argv[3]} (scripts/bench-mips.sh)\n')
print(f'Command: `scripts/bench-mips.sh {sys.argv[2]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}. '
      'Gaussian vectors; every benchmark checks its top-k against the brute-force reference first.')
print('Ceilings of the machine, per instruction set: the ceilings section above (Ceilings).\n')
print('| N | d | k | Q | storage | ms/call | queries/s | GB/s scanned | GFLOP/s |')
print('|---|---|---|---|---|---|---|---|---|')
for r in sorted(rows, key=lambda r: (int(r['params']['n']), int(r['params']['d']), r['params']['dtype'], int(r['params']['k']), int(r['params']['q']))):
    p = r['params']; n, d, k, q = (int(p[x]) for x in ('n', 'd', 'k', 'q'))
    ms = r['primaryMetric']['score']; s = ms / 1e3
    bytes_ = n * d * {'f32': 4, 'bf16': 2, 'int8': 1}[p['dtype']]
    groups = 1 if q == 1 else (q + 7) // 8
    scans = groups if q < 32 else 1  # the streaming regime reads the data once per group of 8 queries
    print(f"| {n} | {d} | {k} | {q} | {p['dtype']} | {ms:.1f} | {q / s:.1f} | {bytes_ * scans / s / 1e9:.1f} | {2.0 * n * d * q / s / 1e9:.0f} |")
PY
rm -f "$out"
echo "updated the '${SECTION:-mips-jmh}' section of docs/benchmarks.md"
