#!/usr/bin/env bash
# realm-java GPU self-test, from the bundle scripts/gpu-bundle.sh builds. Needs only an NVIDIA
# driver: no JVM, no network. Runs (1) device discovery, (2) the GPU test suite (JUnit tag "gpu":
# every GPU kernel against its CPU reference), (3) the GPU benchmarks, with PyTorch on the same
# shapes when a python3 with torch is found, and prints the results table.
# Usage: run.sh [RESULTS_DIR [benchmark options: --n N, --quick]]
#        (default RESULTS_DIR: ./results; the table is RESULTS_DIR/gpu-results.md)
# Exit: 0 all passed; 1 a test failed; 3 no usable GPU (reason printed; tests still run and skip).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
results=$(mkdir -p "${1:-results}" && cd "${1:-results}" && pwd)
[[ $# -gt 0 ]] && shift  # the rest goes to the benchmarks
java="$here/runtime/bin/java"
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate -Xss8m -Xmx16g
       "-Drealm.cuda.path=$here/cuda-lib" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn)
cp="$here/lib/*"
tests=$(ls "$here"/tests/*.jar | tr '\n' ':')

echo "== devices"
"$java" "${flags[@]}" -cp "$cp" org.realmjava.nativebind.cuda.CudaInfo
gpu=$?
if [[ $gpu -ne 0 && $gpu -ne 3 ]]; then echo "device discovery crashed (exit $gpu)"; exit 1; fi

echo "== GPU test suite"
"$java" "${flags[@]}" -cp "$cp:$tests" org.junit.platform.console.ConsoleLauncher execute \
  --scan-class-path "${tests%:}" --include-tag gpu --fail-if-no-tests --details summary --disable-banner \
  --reports-dir "$results/junit" 2>&1 | grep -v "^WARNING: Using incubator modules" | tee "$results/tests.txt"
status=${PIPESTATUS[0]}
[[ $status -eq 0 ]] && echo "GPU tests: passed" || echo "GPU tests: FAILED (exit $status; details in $results/junit)"

if [[ $gpu -eq 3 ]]; then
  echo "== benchmarks not run: no usable GPU (see the first line above)"
  exit 3
fi

echo "== GPU benchmarks"
torch=()
if command -v python3 >/dev/null && python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  torch=(--torch-script "$here/torch_bench.py")
else
  echo "(no python3 with CUDA torch here: the table has no PyTorch column)"
fi
"$java" "${flags[@]}" -cp "$cp" org.realmjava.bench.gpu.GpuBenchmarks "$results/gpu-results.md" "${torch[@]}" "$@" 2>&1 \
  | grep -v "^WARNING: Using incubator modules"
[[ $status -eq 0 ]] && exit 0 || exit 1
