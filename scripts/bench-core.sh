#!/usr/bin/env bash
# Runs the core JMH benchmarks (GEMM, row kernels) and writes docs/benchmarks.md.
# OpenBLAS runs twice: with its own choice of kernel and with OPENBLAS_CORETYPE=Haswell (how some
# development machines configure it). Usage: scripts/bench-core.sh [extra JMH options]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source bin/find-jdk.sh
bin/mvn -q -DskipTests package
out=$(mktemp -d)
jmh() { "$REALM_JDK/bin/java" -jar benchmarks/target/benchmarks.jar "$@"; }
jmh GemmBenchmark -rf json -rff "$out/gemm.json" "$@"
env OPENBLAS_CORETYPE=Haswell "$REALM_JDK/bin/java" -jar benchmarks/target/benchmarks.jar GemmBenchmark -p impl=openblas \
  -rf json -rff "$out/gemm-haswell.json" "$@"
jmh RowKernelsBenchmark -rf json -rff "$out/rows.json" "$@"
python3 scripts/jmh-to-markdown.py "$out" "$REALM_JDK" | python3 scripts/replace-section.py docs/benchmarks.md core
echo "updated the 'core' section of docs/benchmarks.md"
