#!/usr/bin/env bash
# The INT8 engine's outputs on every committed QDQ model are the same bytes at
# every kernel level this CPU runs (ref = the reference kernels, the oracle):
# real images, batch 4, so GEMM tiles, channel blocks and depthwise rows all run.
# With AVX2_CPU_LIB (bench's libqdq_avx2_cpu.so) and a CPU with more than AVX2,
# also the level qdq picks by itself on an AVX2-only CPU (the library hides the
# rest from CPUID): every layer at avx2 or below, the same bytes again.
# --noFp32Compare: the FP32 engine's timing after each run was a third of the
# test's time here.
# usage: int8_isa_exactness_test.sh BUILD_DIR SOURCE_DIR [AVX2_CPU_LIB]
set -euo pipefail
build=$1 src=$2 avx2_cpu_lib=${3:-}
if [ -n "$avx2_cpu_lib" ] && ! grep -q -w cpuid_fault /proc/cpuinfo; then
  echo "(no CPUID faulting on this CPU: no AVX2-CPU run)"; avx2_cpu_lib=
fi
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
        --iterations=1 --duration=0 --warmUp=0 --noFp32Compare --exportOutput="$work/$name.$isa.json" \
        >"$work/log" 2>&1; then
      grep -q "does not support it" "$work/log" && continue  # a level this CPU lacks
      echo "FAILED: $name at $isa: $(head -c 300 "$work/log")"; failed=1; continue
    fi
    if ! cmp -s "$work/$name.ref.json" "$work/$name.$isa.json"; then
      echo "FAILED: $name: $isa outputs differ from the reference kernels'"; failed=1
    else
      echo "ok: $name at $isa"
    fi
  done
  [ -n "$avx2_cpu_lib" ] || continue
  if ! LD_PRELOAD=$avx2_cpu_lib "$build/tools/qexec" --onnx="$model" --int8 --batch=4 --verbose \
      --loadInputs=input:"$work/input.raw" --iterations=1 --duration=0 --warmUp=0 --noFp32Compare \
      --exportOutput="$work/$name.avx2_cpu.json" >"$work/log" 2>&1; then
    echo "FAILED: $name on the AVX2 CPU: $(head -c 300 "$work/log")"; failed=1; continue
  fi
  if ! grep -q "isa=avx2" "$work/log" || grep -q -E "kernel=(avxvnni|avx512vnni|amx)" "$work/log"; then
    echo "FAILED: $name on the AVX2 CPU: kernels above avx2 ($(grep -o -E "(kernel|isa)=[a-z0-9]+" "$work/log" | sort | uniq -c | xargs))"
    failed=1
  elif ! cmp -s "$work/$name.ref.json" "$work/$name.avx2_cpu.json"; then
    echo "FAILED: $name: outputs on the AVX2 CPU differ from the reference kernels'"; failed=1
  else
    echo "ok: $name on the AVX2 CPU"
  fi
done
exit $failed
