#!/usr/bin/env bash
# Packs the CUDA kernel sources as resources and, when nvcc is on the PATH (or under $CUDA_HOME),
# compiles each family (one .cu file) into a fatbin: SASS for sm_80 and sm_90 plus compute_90 PTX
# (which newer GPUs JIT-compile). A kernel compile error fails the build. Without nvcc only the
# sources are packed; the runtime then compiles them with NVRTC at first use (cached on disk).
# Usage: build-kernels.sh SRC_DIR OUT_DIR    (Maven calls it in generate-resources)
set -euo pipefail
src=$1
out=$2
mkdir -p "$out/src"
cp "$src"/*.cu "$src"/*.cuh "$out/src/"
families=$(cd "$src" && ls *.cu | sed 's/\.cu$//' | tr '\n' ' ')
nvcc=$(command -v nvcc || true)
if [[ -z $nvcc && -n ${CUDA_HOME:-} && -x $CUDA_HOME/bin/nvcc ]]; then nvcc=$CUDA_HOME/bin/nvcc; fi
props="$out/kernels.properties"
if [[ -z $nvcc ]]; then
  echo "[kernels] nvcc not on the PATH: packing sources only (NVRTC compiles them at first use)"
  printf 'families=%s\ncompiled=false\nreason=nvcc was not on the PATH at build time\n' "$families" > "$props"
  exit 0
fi
version=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
archs=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90)
pids=()
for f in $families; do
  target="$out/$f.fatbin"
  # rebuild only when the source or the shared header is newer than the fatbin
  if [[ -f $target && $target -nt $src/$f.cu && $target -nt $src/realm_common.cuh ]]; then continue; fi
  echo "[kernels] nvcc $version: $f.cu -> $f.fatbin"
  "$nvcc" -fatbin -O3 -std=c++17 -Werror all-warnings "${archs[@]}" -I "$src" -o "$target.tmp" "$src/$f.cu" && mv "$target.tmp" "$target" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [[ $status -ne 0 ]]; then echo "[kernels] a kernel failed to compile" >&2; exit 1; fi
printf 'families=%s\ncompiled=true\nnvcc=%s\narchs=sm_80 sm_90 compute_90\n' "$families" "$version" > "$props"
