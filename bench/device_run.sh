#!/usr/bin/env bash
# The device machine's run (a many-core Xeon with AVX-512 VNNI, AVX-VNNI and
# AMX; Python onnxruntime, no build packages): qdq's kernel tests at every
# kernel level the CPU has, the peak microbenchmark, and qexec against Python
# onnxruntime on the models in models/ and a ResNet-50 at 224x224 made there
# (bench/make_resnet50.py), alternating A B A B, every core, batch 1 and 32.
# BUNDLE comes from bench/device_bundle.sh. Writes OUT_DIR/{cpu.txt,
# kernel_tests.txt, peak.json, latency.md}.
# usage: bench/device_run.sh BUNDLE.tar.xz OUT_DIR [--quick]
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=$1 out=$2 rounds=3 seconds=0.5 batches="1 32"
[ "${3:-}" = --quick ] && rounds=1 seconds=0.2 batches=1
mkdir -p "$out" /tmp/qdq
tar -C /tmp/qdq -xJf "$bundle"
export LD_LIBRARY_PATH=/tmp/qdq/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
bin=/tmp/qdq/bin
threads=$(nproc)
{ grep -m1 'model name' /proc/cpuinfo; echo "cpus: $threads"
  echo "flags: $(grep -m1 -o -w -E 'avx512_vnni|avx_vnni|amx_int8|amx_tile|avx512_bf16' /proc/cpuinfo | sort -u | xargs)"
  python3 -c 'import onnxruntime; print("onnxruntime", onnxruntime.__version__)'; } >"$out/cpu.txt"
cat "$out/cpu.txt"

echo "== kernel tests at each level"
for isa in ref avx2 avx512vnni; do
  echo "-- QDQ_ISA=$isa"
  QDQ_ISA=$isa "$bin/qdq_unit_tests" --gtest_brief=1 --gtest_filter='*Kernel*:*Isas*:*Qconv*:*QConv*' 2>&1 | tail -3
done >"$out/kernel_tests.txt" 2>&1
cat "$out/kernel_tests.txt"

echo "== peak"
"$bin/qdq_peak" --benchmark_min_time=0.2 --benchmark_out="$out/peak.json" --benchmark_out_format=json \
  2>/dev/null | grep -E '^(peak|qconv)/' | awk '{print $1, $NF}'

echo "== models"
python3 bench/make_resnet50.py /tmp/r50 >/dev/null 2>&1 || echo "(ResNet-50 export failed)"
qexec_median() {  # model batch [flags]
  local model=$1 batch=$2; shift 2
  "$bin/qexec" --onnx="$model" "$@" --batch="$batch" --threads="$threads" --iterations=10 \
    --duration="$seconds" --warmUp=200 2>/dev/null | sed -n 's/.*median = \([0-9.]*\) ms.*/\1/p'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
{
  echo "| model | batch | qdq (ms) | ORT (ms) | qdq / ORT |"
  echo "|---|---|---|---|---|"
  for model in models/resnet20.ptq_u8s8.onnx models/resnet20.ptq_s8s8.onnx models/resnet20.qat.onnx \
    models/resnet20.fp32.onnx models/mobilenetv2.ptq_u8s8.onnx models/mobilenetv2.qat.onnx \
    models/mobilenetv2.fp32.onnx models/resnet18.ptq_u8s8.onnx models/cifar10/resnet32.ptq_u8s8.onnx \
    models/cifar10/resnet32.qdq_calibrated.onnx models/cifar10/resnet32.fp32.onnx \
    /tmp/r50/resnet50.ptq_u8s8.onnx /tmp/r50/resnet50.fp32.onnx; do
    [ -f "$model" ] || continue
    flag="--int8 --noFp32Compare"
    case $model in *fp32*) flag= ;; esac
    for batch in $batches; do
      ours=() theirs=()
      for ((r = 0; r < rounds; ++r)); do
        ours+=("$(qexec_median "$model" "$batch" $flag)")
        theirs+=("$(python3 bench/ort_latency.py "$model" 10 "$threads" "$batch" "$seconds")")
      done
      a=$(median "${ours[@]}") b=$(median "${theirs[@]}")
      echo "| ${model#models/} | $batch | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}') |"
    done
  done
} | tee "$out/latency.md"
