#!/usr/bin/env bash
# The INT8 engine's outputs on every committed QDQ model are the same bytes at
# every kernel level this CPU runs (ref = the reference kernels, the oracle):
# real images, batch 4, so GEMM tiles, channel blocks and depthwise rows all run.
# usage: int8_isa_exactness_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$build/data/fashion-mnist"
[ -f "$data/test_batch.bin" ] || "$build/tools/qdq-dataset" fashion-mnist --out="$data" >/dev/null
"$build/tools/qdq-dataset" tensor --dataset="$data/test_batch.bin" --count=4 --out="$work/input.raw" >/dev/null
levels="ref avx2 avxvnni avx512vnni amx"
failed=0
for model in "$src"/models/*.onnx "$src"/models/cifar10/*.onnx; do
  name=${model#"$src"/models/}; name=${name%.onnx}; name=${name//\//_}
  case $name in *fp32*) continue ;; esac
  for isa in $levels; do
    if ! QDQ_ISA=$isa "$build/tools/qexec" --onnx="$model" --int8 --batch=4 --loadInputs=input:"$work/input.raw" \
        --iterations=1 --duration=0 --warmUp=0 --exportOutput="$work/$name.$isa.json" >"$work/log" 2>&1; then
      grep -q "does not support it" "$work/log" && continue  # a level this CPU lacks
      echo "FAILED: $name at $isa: $(head -c 300 "$work/log")"; failed=1; continue
    fi
    if ! cmp -s "$work/$name.ref.json" "$work/$name.$isa.json"; then
      echo "FAILED: $name: $isa outputs differ from the reference kernels'"; failed=1
    else
      echo "ok: $name at $isa"
    fi
  done
done
exit $failed
