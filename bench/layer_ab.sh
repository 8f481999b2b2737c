#!/usr/bin/env bash
# Two builds of qexec, layer by layer, on one model: what a kernel change
# gains where whole-model latencies cannot tell. The runs alternate in pairs
# (base new, then new base) and each layer's ratio new / base is the median
# over the pairs. On a shared VM whose speed comes and goes in phases longer
# than a run that is not enough: the issue's Zen 3 gave one binary against a
# copy of itself (ResNet-20, batch 32, one thread, 6-8 pairs) whole-run
# medians of 0.77, 0.93 and 0.81 in three sittings. The layers the change
# leaves alone see the same phases: CONTROL names them (a regex over layer
# names: the Winograd layers for a change to the direct tiles, the depthwise
# ones for a GEMM change), and every other layer's ratio is also given
# relative to the controls' median (the same sittings: 1.004, 0.993, 0.989).
# usage: bench/layer_ab.sh BASE_QEXEC NEW_QEXEC MODEL.onnx [--batch=B] [--threads=T]
#          [--pairs=N] [--iterations=I] [--control=REGEX] [--fp32]
#   --pairs=N       run pairs (default 12)
#   --iterations=I  timed iterations a run, after 30 warm-up ones (default 10)
#   --control=R     the layers the change leaves alone (default: none)
#   --fp32          the FP32 engine (default: --int8)
set -euo pipefail
[ $# -ge 3 ] || { sed -n '/^# usage/,/^#   --fp32/p' "$0" >&2; exit 2; }
base=$1 new=$2 model=$3
batch=1 threads=$(nproc) pairs=12 iterations=10 control='' precision=--int8
for arg in "${@:4}"; do
  case $arg in
    --batch=*) batch=${arg#*=} ;;
    --threads=*) threads=${arg#*=} ;;
    --pairs=*) pairs=${arg#*=} ;;
    --iterations=*) iterations=${arg#*=} ;;
    --control=*) control=${arg#*=} ;;
    --fp32) precision= ;;
    *) echo "error: unknown option $arg" >&2; exit 2 ;;
  esac
done
((pairs >= 1)) || { echo "error: --pairs must be at least 1" >&2; exit 2; }
for binary in "$base" "$new"; do
  [ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 2; }
done
profiles=$(mktemp -d)
trap 'rm -rf "$profiles"' EXIT
run() {  # binary name pair
  "$1" --onnx="$model" $precision --batch="$batch" --threads="$threads" --iterations="$iterations" \
    --duration=0 --warmUp=30 --noFp32Compare --exportProfile="$profiles/$2.$3.json" >/dev/null 2>&1 ||
    { echo "error: $1 failed on $model" >&2; exit 1; }
}
for ((i = 0; i < pairs; ++i)); do
  if ((i % 2)); then run "$new" new "$i"; run "$base" base "$i"; else run "$base" base "$i"; run "$new" new "$i"; fi
done
echo "$(basename "$model"), batch $batch, $threads thread(s), $pairs alternating pairs of $iterations iterations"
node "$(dirname "$0")/layer_ab.mjs" "$profiles" "$pairs" "$control"
