#!/usr/bin/env bash
# qdq-opt on every committed model, in both forms: the output passes the ONNX checker (qdq-opt
# runs it before writing), ONNX Runtime loads it, and qexec and ONNX Runtime agree
# on it as on the input model (compare_with_ort.mjs criteria).
# usage: qdq_opt_models_test.sh BUILD_DIR SOURCE_DIR N_IMAGES
set -euo pipefail
build=$1 src=$2 count=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for model in "$src"/models/*.onnx; do
  name=$(basename "$model" .onnx)
  for form in qdq qoperator; do
    "$build/tools/qdq-opt" "$model" -o "$work/$name.$form.onnx" --form=$form >"$work/$name.$form.log"
    echo "$name --form=$form: $(grep '^total' "$work/$name.$form.log")"
  done
done
data="$build/data/fashion-mnist"
[ -f "$data/test_batch.bin" ] || "$build/tools/qdq-dataset" fashion-mnist --out="$data" >/dev/null
"$build/tools/qdq-dataset" tensor --dataset="$data/test_batch.bin" --count="$count" --out="$work/input.raw" >/dev/null
QDQ_ORT_NODE="$src/third_party/ort/node_modules/onnxruntime-node" \
  node "$src/tests/ort/compare_with_ort.mjs" "$build/tools/qexec" "$work/input.raw" "$count" "$work"/*.qdq.onnx "$work"/*.qoperator.onnx
