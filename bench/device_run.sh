#!/usr/bin/env bash
# The device machine's run (a many-core Xeon with AVX-512 VNNI, AVX-VNNI and
# AMX; Python onnxruntime, no build packages): qdq's kernel tests at every
# kernel level the CPU has, every committed QDQ model's INT8 outputs at each
# level against the reference kernels' (tests/tools/int8_isa_exactness_test.sh),
# the peak microbenchmark, and bench/run's matrix against Python onnxruntime
# (1 thread and every core, batch 1 and 32) on the models in models/ and a
# ResNet-50, ResNeXt-50 and RegNetX-400MF at 224x224 made there
# (bench/isa_ab.sh compares two levels' latency). BUNDLE comes from
# bench/device_bundle.sh (binaries, libraries, the first 1,000 test images).
# Writes OUT_DIR/{cpu.txt, kernel_tests.txt, model_bytes.txt, peak.json,
# latency.tsv, machine.txt}; bench/latency_table.mjs renders the rows here.
# usage: bench/device_run.sh BUNDLE.tar.xz OUT_DIR [--quick] [--matrix-only] [bench/run's flags: --models=.., --resume]
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=$1 out=$2 seconds=0.5 batches= matrix_only= bench_flags=()
for arg in "${@:3}"; do
  case $arg in
    --quick) seconds=0.2 batches=1 ;;
    --matrix-only) matrix_only=1 ;;  # a later call of a matrix split over several (with --resume)
    *) bench_flags+=("$arg") ;;
  esac
done
mkdir -p "$out" /tmp/qdq
tar -C /tmp/qdq -xJf "$bundle"
export LD_LIBRARY_PATH=/tmp/qdq/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
bin=/tmp/qdq/bin
threads=$(nproc)
{ grep -m1 'model name' /proc/cpuinfo; echo "cpus: $threads"
  echo "flags: $(grep -m1 -o -w -E 'avx512_vnni|avx_vnni|amx_int8|amx_tile|avx512_bf16' /proc/cpuinfo | sort -u | xargs)"
  python3 -c 'import onnxruntime; print("onnxruntime", onnxruntime.__version__)'; } >"$out/cpu.txt"
cat "$out/cpu.txt"

if [ -z "$matrix_only" ]; then
echo "== kernel tests at each level"
for isa in ref avx2 avxvnni avx512vnni amx; do
  echo "-- QDQ_ISA=$isa"
  QDQ_ISA=$isa "$bin/qdq_unit_tests" --gtest_brief=1 --gtest_filter='*Kernel*:*Isas*:*Qconv*:*QConv*' 2>&1 | tail -3
done >"$out/kernel_tests.txt" 2>&1
cat "$out/kernel_tests.txt"

echo "== every committed QDQ model's INT8 outputs at each level against the reference kernels'"
# The build's own check (int8_isa_exactness), on a build directory made of
# the bundle's binaries and images.
mkdir -p /tmp/qdq/build/tools /tmp/qdq/build/data/fashion-mnist
ln -sf "$bin/qexec" "$bin/qdq-dataset" /tmp/qdq/build/tools/
cp /tmp/qdq/data/fashion-mnist.bin /tmp/qdq/build/data/fashion-mnist/test_batch.bin
bash tests/tools/int8_isa_exactness_test.sh /tmp/qdq/build . >"$out/model_bytes.txt" 2>&1
echo "(exit $?)" >>"$out/model_bytes.txt"
cat "$out/model_bytes.txt"

echo "== peak"
"$bin/qdq_peak" --benchmark_min_time=0.2 --benchmark_out="$out/peak.json" --benchmark_out_format=json \
  2>/dev/null | grep -E '^(peak|qconv)/' | awk '{print $1, $NF}'
fi

echo "== models: bench/run's matrix, Python onnxruntime as the peer"
# The 224x224 rows: bench/make_torchvision_models.py's random-weight
# ResNet-50, ResNeXt-50 and RegNetX-400MF (trained ones are too large to
# carry): timings only, their top-1 is chance.
for name in resnet50 resnext50_32x4d regnet_x_400mf; do
  [ -f .data/models/$name.ptq_u8s8.onnx ] ||
    python3 bench/make_torchvision_models.py .data/models $name >/dev/null 2>&1 || echo "($name export failed)"
done
mkdir -p build/data/fashion-mnist build/data/cifar10
cp /tmp/qdq/data/fashion-mnist.bin build/data/fashion-mnist/test_batch.bin
cp /tmp/qdq/data/cifar10.bin build/data/cifar10/test_batch.bin
bench/run --bin="$bin" --ort=python --threads=1,"$threads" --seconds="$seconds" ${batches:+--batches=$batches} "${bench_flags[@]}"
cp build/bench/latency.tsv build/bench/machine.txt "$out/"
