#!/usr/bin/env bash
# One MLM training step at MiniLM-L6 sizes (B=32, L=128, 2 threads): this engine (JMH,
# TrainingStepBenchmark, vocabulary logits at the masked positions) and PyTorch (Debian's
# python3-torch 1.13, scripts/peers/torch_mlm_step.py, same shapes) in one run, with the ratio.
# Installs python3-torch with apt when missing. Updates the 'training-vs-pytorch' section of
# docs/benchmarks.md. ISA=avx2: this engine's JVM with -XX:UseAVX=2 and PyTorch with
# ATEN_CPU_CAPABILITY=avx2, into the 'training-vs-pytorch-avx2' section.
source "$(dirname "$0")/lib-jmh.sh"
ISA=${ISA:-native}; section=training-vs-pytorch; jvm=(); isa_note="widest vectors each"
case "$ISA" in
  native) ;;
  avx2) section=training-vs-pytorch-avx2; export ATEN_CPU_CAPABILITY=avx2; isa_note="AVX2: this engine -XX:UseAVX=2, PyTorch ATEN_CPU_CAPABILITY=avx2"
        jvm=(-jvmArgsAppend "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseProfiledLoopPredicate -Xmx8g -XX:UseAVX=2") ;;
  *) echo "ISA must be native or avx2, not '$ISA'" >&2; exit 2 ;;
esac
source "$(dirname "$0")/lib-isa.sh"
section=$(isa_section training-vs-pytorch); label=$(isa_label training-vs-pytorch); cpu=$(isa_cpu)
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "installing Debian's python3-torch (the PyTorch peer)"
  apt-get install -y python3-torch >/dev/null
fi
# Debian's torch multiplies through libblas.so.3: without OpenBLAS installed that is the reference BLAS
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || apt-get install -y libopenblas0-pthread >/dev/null
torch_line=$(/usr/bin/python3 scripts/peers/torch_mlm_step.py --batch 32 --len 128 --threads 2 --steps 8)
echo "$torch_line"
out=$(mktemp)
run_jmh TrainingStepBenchmark "$out" -p mlmLogits=masked -p batch=32 -p len=128 "${jvm[@]}" "$@"
python3 - "$out" "$torch_line" "$*" "$ISA" "$isa_note" "${OPENBLAS_CORETYPE:-auto}" "$label" "$cpu" <<'PY' | python3 scripts/replace-section.py docs/benchmarks.md "$section"
import json, re, sys, os, datetime
r = json.load(open(sys.argv[1]))[0]
ours = 32 * 128 / (r['primaryMetric']['score'] / 1e3)
m = re.search(r'([\d.]+) tokens/s', sys.argv[2]); theirs = float(m.group(1))
ver = sys.argv[2].split(':')[0]
cpu = sys.argv[8]
print(f'## MLM training step against PyTorch, same machine, {sys.argv[7]} (scripts/bench-training-vs-pytorch.sh)\n')
print(f'Command: `ISA={sys.argv[4]} scripts/bench-training-vs-pytorch.sh {sys.argv[3]}` on {cpu}, {os.cpu_count()} cores, {datetime.date.today()}; '
      f'{sys.argv[5]}; OPENBLAS_CORETYPE={sys.argv[6]} (PyTorch multiplies through OpenBLAS). '
      f'MiniLM-L6 sizes, B=32 L=128, 15% masked (logits at masked positions), dropout 0.1, AdamW, 2 threads each; {ver} '
      '(Debian python3-torch, nn.TransformerEncoder post-LN with the same sizes).\n')
print('| realm tokens/s | PyTorch tokens/s | realm / PyTorch |')
print('|---|---|---|')
print(f'| {ours:.0f} | {theirs:.0f} | {ours / theirs:.2f}x |')
PY
rm -f "$out"
echo "updated the '$section' section of docs/benchmarks.md"
