#!/usr/bin/env python3
"""Turns the JMH JSON files of scripts/bench-core.sh into docs/benchmarks.md."""
import json, os, platform, subprocess, sys, datetime

FMA_PEAK_GFLOPS = 826.0   # 2 cores, AVX-512 microbenchmark (DESIGN.md)
READ_BW_GBS = 51.0        # 2 threads (DESIGN.md)

out_dir, jdk = sys.argv[1], sys.argv[2]

def load(name):
    p = os.path.join(out_dir, name)
    return json.load(open(p)) if os.path.exists(p) else []

def cpu():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

jver = subprocess.run([os.path.join(jdk, 'bin', 'java'), '-version'], capture_output=True, text=True).stderr.splitlines()[0]
print('## Core kernels (scripts/bench-core.sh)\n')
print(f'Machine: {cpu()}, {os.cpu_count()} cores; {jver}; date {datetime.date.today()}.')
print('Reproduce with `scripts/bench-core.sh` (JMH, 1 fork, 3 warm-up and 5 measured 1-second iterations).')
print('Every benchmark checks its result against the scalar reference in setup.\n')

print('### GEMM (C = A B, f32)\n')
print('| m,n,k | implementation | ms/call | GFLOP/s | % of FMA peak (826) |')
print('|---|---|---|---|---|')
rows = []
for name, label in (('gemm.json', None), ('gemm-haswell.json', 'openblas (OPENBLAS_CORETYPE=Haswell)')):
    for r in load(name):
        p = r['params']
        m, n, k = map(int, p['shape'].split('x'))
        ms = r['primaryMetric']['score']
        gf = 2.0 * m * n * k / (ms / 1e3) / 1e9
        impl = label or ('Vector API (SimdGemm)' if p['impl'] == 'simd' else 'openblas (own kernel choice)')
        rows.append((p['shape'], impl, ms, gf))
for s, impl, ms, gf in sorted(rows, key=lambda t: (t[0], t[1])):
    print(f'| {s} | {impl} | {ms:.2f} | {gf:.0f} | {100 * gf / FMA_PEAK_GFLOPS:.0f}% |')

print('\n### Row kernels (f32, bytes read + written per call)\n')
print('| op | rows,cols | implementation | us/call | GB/s | % of read bandwidth (51 GB/s) |')
print('|---|---|---|---|---|---|')
for r in sorted(load('rows.json'), key=lambda r: (r['benchmark'], r['params']['shape'], r['params']['impl'])):
    p = r['params']
    rows_, cols = map(int, p['shape'].split('x'))
    us = r['primaryMetric']['score']
    gbs = 2 * 4.0 * rows_ * cols / (us / 1e6) / 1e9
    op = r['benchmark'].rsplit('.', 1)[1]
    print(f'| {op} | {p["shape"]} | {p["impl"]} | {us:.0f} | {gbs:.1f} | {100 * gbs / READ_BW_GBS:.0f}% |')
