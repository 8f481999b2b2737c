#!/usr/bin/env bash
# qeval on every Fashion-MNIST model of models/ (and .data/models/) against the
# model card's reference top-1 (models/reference_top1.txt), on all 10,000 test
# images in both formats qeval reads: the CIFAR-10 binary and a folder of PNGs
# (class sub-folders). Each QDQ model twice: qdq's FP32 engine (Q/DQ simulated in
# float, as ONNX defines it) and --int8. Prints a markdown table; a cell off the
# reference by more than 0.05 is marked and makes the exit status 1.
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
data=build/data/fashion-mnist
[ -f "$data/test_batch.bin" ] || build/tools/qdq-dataset fashion-mnist --out="$data" >/dev/null
[ -d "$data/png" ] || build/tools/qdq-dataset fashion-mnist --format=png --out="$data/png" >/dev/null
norm=(--mean=0.2190,0.2190,0.2190 --std=0.3318,0.3318,0.3318)
top1() {  # model, dataset, flags...
  local model=$1 dataset=$2; shift 2
  build/tools/qeval --onnx="$model" --dataset="$dataset" "${norm[@]}" "${limit[@]}" "$@" 2>/dev/null |
    sed -n 's/^top1 = \([0-9.]*\) %.*/\1/p'
}
cell() {  # value, reference (runs in a subshell: the misses are counted from the table)
  if awk -v a="$1" -v b="$2" 'BEGIN {d = a - b; exit !(d <= 0.05 && d >= -0.05)}'; then echo "$1"
  else echo "**$1**"; fi
}
table="| model | reference (ORT) | FP32 engine: binary / PNG | --int8: binary / PNG |
|---|---|---|---|"
while read -r file reference; do
  [[ -z $file || $file == \#* || $file != *"$filter"* ]] && continue
  model=models/$file
  [ -f "$model" ] || model=.data/models/$file
  [ -f "$model" ] || { echo "($file: not in models/ or .data/models/, skipped)" >&2; continue; }
  row="| $file | $reference | $(cell "$(top1 "$model" "cifar10:$data")" "$reference") / $(cell "$(top1 "$model" "imagenet:$data/png" --resize=32 --crop=32)" "$reference") |"
  if [[ $file == *fp32* ]]; then row+=" — |"
  else row+=" $(cell "$(top1 "$model" "cifar10:$data" --int8)" "$reference") / $(cell "$(top1 "$model" "imagenet:$data/png" --resize=32 --crop=32 --int8)" "$reference") |"; fi
  table+=$'\n'"$row"
  echo "$row" >&2
done <models/reference_top1.txt
table+=$'\n\n'"top-1 (%), ${limit[*]:-all 10,000} test images; bold: more than 0.05 off the reference. $(date -u +%F), $(nproc) threads."
echo "$table"
[ -z "$markdown" ] || printf '%s\n' "$table" >"$markdown"
! grep -q '\*\*[0-9]' <<<"$table"
