#!/usr/bin/env bash
# qdq against itself at two kernel levels (QDQ_ISA=A, then B, alternating
# within each round) on the same models, beside Python onnxruntime's latency
# on the same file where it is installed (the device machine): for each model,
# batch and thread count, every round's medians, then the minimum over the
# rounds and B / A. What a new kernel level gains, measured side by side.
# usage: bench/isa_ab.sh BIN_DIR A B ROUNDS MODEL.onnx...
#        (THREADS="1 16" and BATCHES="1 32" in the environment choose the runs)
set -uo pipefail
bin=$1 a=$2 b=$3 rounds=$4
shift 4
ort=$(python3 -c 'import onnxruntime' 2>/dev/null && echo "$(dirname "$0")/ort_latency.py")
median() {  # level model batch threads
  QDQ_ISA=$1 "$bin/qexec" --onnx="$2" --int8 --batch="$3" --threads="$4" --duration=0.5 --warmUp=100 \
    --noFp32Compare 2>&1 | sed -n 's/.*median = \([0-9.]*\) ms.*/\1/p'
}
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' model batch threads "$a (ms)" "$b (ms)" "$b / $a" "onnxruntime (ms)"
for model in "$@"; do
  for batch in ${BATCHES:-1 32}; do
    for threads in ${THREADS:-1 $(nproc)}; do
      best_a= best_b=
      for _ in $(seq "$rounds"); do
        ta=$(median "$a" "$model" "$batch" "$threads") tb=$(median "$b" "$model" "$batch" "$threads")
        echo "  round: $a $ta  $b $tb" >&2
        best_a=$(echo "${best_a:-$ta} $ta" | awk '{print ($2 < $1 ? $2 : $1)}')
        best_b=$(echo "${best_b:-$tb} $tb" | awk '{print ($2 < $1 ? $2 : $1)}')
      done
      peer=-
      [ -z "$ort" ] || peer=$(python3 "$ort" "$model" 10 "$threads" "$batch" 0.5 2>/dev/null | cut -d" " -f1)
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$model")" "$batch" "$threads" "$best_a" "$best_b" \
        "$(echo "$best_a $best_b" | awk '{printf "%.2f", $2 / $1}')" "$peer"
    done
  done
done
