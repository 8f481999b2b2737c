#!/usr/bin/env bash
# ctest entry: qexec vs ONNX Runtime on every committed model, on the first N
# real Fashion-MNIST test images. usage: run_ort_compare.sh BUILD_DIR SOURCE_DIR N
set -euo pipefail
build=$1 src=$2 count=$3
data="$build/data/fashion-mnist"
[ -f "$data/test_batch.bin" ] || "$build/tools/qdq-dataset" fashion-mnist --out="$data" >/dev/null
input="$build/data/ort_compare_$count.raw"
"$build/tools/qdq-dataset" tensor --dataset="$data/test_batch.bin" --count="$count" --out="$input" >/dev/null
# The CIFAR-10 FP32 models join on these (Fashion-MNIST) pictures as a numerical
# check. Their Q/DQ variants do not: on pictures from another dataset their
# logits nearly tie, and top-1 agreement with a float simulation of Q/DQ says
# nothing (qeval measures them on the real CIFAR-10 test set instead).
models=("$src"/models/*.onnx "$src"/models/cifar10/*.fp32.onnx)
if [ "${4:-}" = int8 ]; then
  export QDQ_QEXEC_FLAGS=--int8
  models=("$src"/models/*.qat*.onnx "$src"/models/*.ptq_*.onnx)
fi
QDQ_ORT_NODE="$src/third_party/ort/node_modules/onnxruntime-node" \
  node "$src/tests/ort/compare_with_ort.mjs" "$build/tools/qexec" "$input" "$count" "${models[@]}"
