#!/usr/bin/env bash
# What qdq-opt and the INT8 engine make of every model of the model card
# (models/reference_top1.txt): node counts before and after qdq-opt in both
# output forms, top-1 of the input and output models under ONNX Runtime
# (scripts/ort_top1.mjs) and under qdq's INT8 engine (qeval --int8), and the
# layers the engine leaves in float (qexec --verbose), by op. Same test images
# and normalization as scripts/accuracy.sh. Prints a markdown table.
# usage: scripts/convert_report.sh [--limit=N] [--models=SUBSTRING]
set -euo pipefail
cd "$(dirname "$0")/.."
limit= filter=
for arg in "$@"; do
  case $arg in
    --limit=*) limit=${arg#*=} ;;
    --models=*) filter=${arg#*=} ;;
    *) echo "error: unknown argument $arg (usage: scripts/convert_report.sh [--limit=N] [--models=SUBSTRING])" >&2; exit 1 ;;
  esac
done
scripts/setup.sh >/dev/null
scripts/build.sh build >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ort() {  # model binary mean std
  node scripts/ort_top1.mjs "$1" "$2" "$3" "$4" $limit | sed -n 's/^top1 = \([0-9.]*\) %.*/\1/p'
}
qdq() {  # model binary mean std
  build/tools/qeval --onnx="$1" --dataset="cifar10:$2" --mean="$3" --std="$4" --int8 ${limit:+--limit=$limit} 2>/dev/null |
    sed -n 's/^top1 = \([0-9.]*\) %.*/\1/p'
}
nodes() {  # qdq-opt's "total  A -> B nodes" line -> "A → B"
  sed -n 's/^total *\([0-9]*\) -> \([0-9]*\) nodes.*/\1 → \2/p'
}
float_layers() {  # model -> "Op×n, ..." of the engine's fp32 layers
  build/tools/qexec --onnx="$1" --int8 --verbose --iterations=1 --duration=0 --warmUp=0 2>&1 |
    sed -n "s/^\[I\] layer \([A-Za-z]*\) .*precision=fp32.*/\1/p" | sort | uniq -c |
    awk '{printf "%s%s×%s", (NR > 1 ? ", " : ""), $2, $1}'
}
echo "| model | nodes: qdq form | nodes: qoperator form | ORT top-1: in / qdq / qoperator | qdq --int8 top-1: in / qdq / qoperator | float layers in the INT8 engine |"
echo "|---|---|---|---|---|---|"
while read -r file reference; do
  [[ -z $file || $file == \#* || $file == *fp32* || $file != *"$filter"* ]] && continue
  model=models/$file
  [ -f "$model" ] || model=.data/models/$file
  [ -f "$model" ] || { echo "($file: not in models/ or .data/models/, skipped)" >&2; continue; }
  if [[ $file == cifar10/* ]]; then set -- build/data/cifar10/test_batch.bin 0.485,0.456,0.406 0.229,0.224,0.225
  else set -- build/data/fashion-mnist/test_batch.bin 0.2190,0.2190,0.2190 0.3318,0.3318,0.3318; fi
  [ -f "$1" ] || { echo "($file: no test images at $1: run scripts/accuracy.sh once, skipped)" >&2; continue; }
  qdq_nodes=$(build/tools/qdq-opt "$model" -o "$out/qdq.onnx" | nodes)
  qop_nodes=$(build/tools/qdq-opt "$model" -o "$out/qop.onnx" --form=qoperator | nodes)
  echo "| $file | $qdq_nodes | $qop_nodes | $(ort "$model" "$@") / $(ort "$out/qdq.onnx" "$@") / $(ort "$out/qop.onnx" "$@") | $(qdq "$model" "$@") / $(qdq "$out/qdq.onnx" "$@") / $(qdq "$out/qop.onnx" "$@") | $(float_layers "$model") |"
done <models/reference_top1.txt
echo
echo "top-1 (%) on ${limit:-all 10,000} test images; $(date -u +%F), $(nproc) threads."
