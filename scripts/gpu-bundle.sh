#!/usr/bin/env bash
# Builds build/gpu-bundle/: a self-contained GPU self-test for any Linux x86-64 machine with an
# NVIDIA driver (CUDA 13 capable) and no JVM and no network: a jlinked Java runtime, the project
# jars the GPU path needs (no ONNX Runtime, model or OpenBLAS jars), the kernel fatbins (inside
# realm-kernels), the GPU test classes, libcudart.so.13 when this machine has it, and run.sh.
# Usage: scripts/gpu-bundle.sh            (then copy build/gpu-bundle anywhere and run its run.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source bin/find-jdk.sh
JAVA_HOME=$REALM_JDK
out=build/gpu-bundle
limit_mb=60
rm -rf "$out"
mkdir -p "$out/lib" "$out/tests" "$out/cuda-lib"

echo "[bundle] building the project (tests skipped)"
bin/mvn -q -DskipTests install
echo "[bundle] collecting jars"
bin/mvn -q -pl mips dependency:copy-dependencies -DincludeScope=runtime -DexcludeGroupIds=org.bytedeco.openblas \
  -DoutputDirectory="$root/$out/lib"
rm -f "$out"/lib/openblas-*.jar
for a in org.slf4j:slf4j-simple:2.0.20 org.junit.platform:junit-platform-console-standalone:1.14.4; do
  bin/mvn -q dependency:copy -Dartifact=$a -DoutputDirectory="$root/$out/lib"
done
# the CUDA presets' native jar carries JNI libraries for every CUDA library (NPP, cuFFT, cuDNN, ...);
# keep the three this engine binds (runtime/driver, cuBLAS, NVRTC)
python3 - "$out"/lib/cuda-*-linux-x86_64.jar <<'PY'
import sys, zipfile, os
src = sys.argv[1]
keep = ("libjnicudart.so", "libjnicublas.so", "libjninvrtc.so")
tmp = src + ".tmp"
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        name = os.path.basename(item.filename)
        if name.endswith(".so") and name not in keep:
            continue
        zout.writestr(item, zin.read(item.filename))
os.replace(tmp, src)
PY
cp mips/target/realm-mips-*.jar benchmarks/target/realm-benchmarks-*.jar "$out/lib/"
for m in jni-bindings tensor mips; do
  "$JAVA_HOME/bin/jar" cf "$out/tests/realm-$m-tests.jar" -C "$m/target/test-classes" .
done

if [[ -f /usr/local/cuda/lib64/libcudart.so.13 ]]; then
  # the CUDA runtime is redistributable and small; the driver, cuBLAS and NVRTC come from the GPU machine
  cp -L /usr/local/cuda/lib64/libcudart.so.13 "$out/cuda-lib/"
fi

echo "[bundle] jlink"
modules=$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 25 \
  "$out"/lib/*.jar "$out"/tests/*.jar 2>/dev/null | tail -1)
# jdk.zipfs: the JUnit console scans the test jars through the zip file system
modules="$modules,jdk.incubator.vector,jdk.unsupported,jdk.zipfs"
# (jdeps names java.sql for the JUnit console; it brings java.xml, which writes the test reports)
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=zip-9 \
  --strip-native-debug-symbols=objcopy=$(command -v objcopy) \
  --output "$out/runtime"

cp scripts/gpu/run.sh scripts/gpu/torch_bench.py "$out/"
chmod +x "$out/run.sh"
size_mb=$(du -sm "$out" | cut -f1)
echo "[bundle] $out: ${size_mb} MB (modules: $modules)"
if (( size_mb >= limit_mb )); then
  echo "[bundle] over the ${limit_mb} MB limit" >&2
  exit 1
fi
