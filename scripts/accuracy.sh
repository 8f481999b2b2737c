#!/usr/bin/env bash
# qeval on every model of the model card (models/reference_top1.txt) against its
# reference top-1, on all 10,000 test images in both formats qeval reads: a
# CIFAR-10 binary and a folder of images (class sub-folders). Fashion-MNIST
# models (models/*.onnx, and .data/models/ for the uncommitted ones): the binary
# and PNGs that qdq-dataset writes. Real CIFAR-10 models (models/cifar10/): the
# JPEG test images (../shared/data/cifar10-test-jpg.tar.xz, or .data/cifar10/)
# and the binary qdq-dataset decodes from them. Each QDQ model twice: qdq's FP32
# engine (Q/DQ simulated in float, as ONNX defines it) and --int8. Prints a
# markdown table; a cell off the reference by more than 0.05 is marked and makes
# the exit status 1.
# usage: scripts/accuracy.sh [--limit=N] [--models=SUBSTRING] [--markdown=F]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=() filter= markdown=
for arg in "$@"; do
  case $arg in
    --limit=*) limit=("$arg") ;;
    --models=*) filter=${arg#*=} ;;
    --markdown=*) markdown=${arg#*=} ;;
    *) echo "error: unknown argument $arg (usage: scripts/accuracy.sh [--limit=N] [--models=SUBSTRING] [--markdown=F])" >&2; exit 1 ;;
  esac
done
scripts/build.sh build >/dev/null
fmnist=build/data/fashion-mnist
[ -f "$fmnist/test_batch.bin" ] || build/tools/qdq-dataset fashion-mnist --out="$fmnist" >/dev/null
[ -d "$fmnist/png" ] || build/tools/qdq-dataset fashion-mnist --format=png --out="$fmnist/png" >/dev/null
cifar=build/data/cifar10
grep -q '^cifar10/' models/reference_top1.txt && scripts/cifar10_data.sh
# Per suite: the binary, the image folder, the normalization the models expect.
suite() {  # file -> "binary folder mean std"
  if [[ $1 == cifar10/* ]]; then echo "$cifar/test_batch.bin $cifar/test 0.485,0.456,0.406 0.229,0.224,0.225"
  else echo "$fmnist/test_batch.bin $fmnist/png 0.2190,0.2190,0.2190 0.3318,0.3318,0.3318"; fi
}
top1() {  # model, dataset, flags...
  local model=$1 dataset=$2; shift 2
  build/tools/qeval --onnx="$model" --dataset="$dataset" --mean="$mean" --std="$std" "${limit[@]}" "$@" 2>/dev/null |
    sed -n 's/^top1 = \([0-9.]*\) %.*/\1/p'
}
cell() {  # value, reference (runs in a subshell: the misses are counted from the table)
  if awk -v a="$1" -v b="$2" 'BEGIN {d = a - b; exit !(d <= 0.05 && d >= -0.05)}'; then echo "$1"
  else echo "**$1**"; fi
}
table="| model | reference (ORT) | FP32 engine: binary / images | --int8: binary / images |
|---|---|---|---|"
while read -r file reference; do
  [[ -z $file || $file == \#* || $file != *"$filter"* ]] && continue
  model=models/$file
  [ -f "$model" ] || model=.data/models/$file
  [ -f "$model" ] || { echo "($file: not in models/ or .data/models/, skipped)" >&2; continue; }
  read -r binary folder mean std <<<"$(suite "$file")"
  [ -f "$binary" ] || { echo "($file: no test images at $binary, skipped)" >&2; continue; }
  images=(--resize=32 --crop=32)
  row="| $file | $reference | $(cell "$(top1 "$model" "cifar10:$binary")" "$reference") / $(cell "$(top1 "$model" "imagenet:$folder" "${images[@]}")" "$reference") |"
  if [[ $file == *fp32* ]]; then row+=" — |"
  else row+=" $(cell "$(top1 "$model" "cifar10:$binary" --int8)" "$reference") / $(cell "$(top1 "$model" "imagenet:$folder" "${images[@]}" --int8)" "$reference") |"; fi
  table+=$'\n'"$row"
  echo "$row" >&2
done <models/reference_top1.txt
table+=$'\n\n'"top-1 (%), ${limit[*]:-all 10,000} test images; bold: more than 0.05 off the reference. $(date -u +%F), $(nproc) threads."
echo "$table"
[ -z "$markdown" ] || printf '%s\n' "$table" >"$markdown"
! grep -q '\*\*[0-9]' <<<"$table"
