# Sourced by the bench-*.sh scripts that compare against a peer per instruction set.
# isa_section BASE: the docs/benchmarks.md section for $ISA on this processor. One table per
# instruction set and per kind of processor: BASE (native, AVX-512 where the processor has it),
# BASE-avx2 (ISA=avx2: -XX:UseAVX=2 on an AVX-512 processor) and BASE-avx2-only (ISA=native on a
# processor without AVX-512, such as a Zen 1-3, whose AVX2 kernels then run on their own hardware).
isa_section() {
  local base=$1
  if [ "$ISA" = avx2 ]; then echo "$base-avx2"
  elif grep -qw avx512f /proc/cpuinfo; then echo "$base"
  else echo "$base-avx2-only"
  fi
}
# isa_label BASE: what the table heading calls that section (native, avx2 or avx2-only).
isa_label() {
  local label
  label=$(isa_section "$1"); label=${label#"$1"}; label=${label#-}
  echo "${label:-native}"
}
# isa_cpu: the processor, family/model and its vector flags, for the Command line of a table.
isa_cpu() {
  local flags
  flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|avx512f|avx512_bf16)$' | tr '\n' ' ' | xargs)
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs) model $(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2 | xargs); flags: $flags)"
}
