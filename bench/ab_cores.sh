#!/usr/bin/env bash
# Two qexec runs at the same time, one on each of two cores (taskset), one
# thread each, swapped between the cores every round: A and B meet the same
# machine noise, where runs one after the other met sittings up to 40 %
# apart (BENCHMARKS.md, session 20). Prints, per round, B / A of the summed
# per-layer averages (`--dumpProfile`) of the layers whose line matches
# LAYERS (an extended regex; "QConv" for every conv), then the rounds'
# range. A and B: two binaries on one model (what a change gains), or one
# binary on two models (QAT against PTQ). QDQ_ISA in the environment
# reaches both. Run A against A first: its spread is the noise.
# usage: bench/ab_cores.sh BIN_A MODEL_A BIN_B MODEL_B [BATCH] [ROUNDS] [LAYERS]
set -euo pipefail
[ $# -ge 4 ] || {
  echo "usage: bench/ab_cores.sh BIN_A MODEL_A BIN_B MODEL_B [BATCH] [ROUNDS] [LAYERS]" >&2
  exit 1
}
bin_a=$1 model_a=$2 bin_b=$3 model_b=$4 batch=${5:-1} rounds=${6:-6} layers=${7:-QConv}
[ "$(nproc)" -ge 2 ] || {
  echo "error: needs two cores" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
profile_sum() {  # the summed averages of the matching layers in a --dumpProfile output
  awk -v pattern="$layers" '$0 ~ pattern && $1 + 0 > 0 && $NF !~ /total/ { sum += $1 } END { print sum + 0 }' "$1"
}
for round in $(seq "$rounds"); do
  core_a=$(((round + 1) % 2)) core_b=$((round % 2))
  for side in a b; do
    if [ $side = a ]; then bin=$bin_a model=$model_a core=$core_a; else bin=$bin_b model=$model_b core=$core_b; fi
    taskset -c "$core" "$bin" --onnx="$model" --int8 --batch="$batch" --threads=1 --duration=2 \
      --noFp32Compare --dumpProfile >"$work/$side" 2>&1 &
  done
  wait
  sum_a=$(profile_sum "$work/a") sum_b=$(profile_sum "$work/b")
  awk -v a="$sum_a" -v b="$sum_b" -v r="$round" 'BEGIN {
    if (a <= 0 || b <= 0) { print "error: no layer matched in round " r > "/dev/stderr"; exit 1 }
    printf "round %d: A %.4f ms  B %.4f ms  B / A %.3f\n", r, a, b, b / a }'
done | tee "$work/rounds"
awk '{ r = $NF; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r }
  END { if (NR) printf "B / A over %d rounds: %.3f-%.3f\n", NR, lo, hi }' "$work/rounds"
