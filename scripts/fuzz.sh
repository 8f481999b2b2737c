#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/: ONNX import, building and running
# engines, plan loading, CIFAR-10 reading, image decoding) with clang, ASan and UBSan in build-fuzz, seeds their
# corpora from ONNX's conformance models, plans built from them, Fashion-MNIST
# records and images, and runs each target for a bounded time. A crash, leak,
# timeout or out-of-memory fails the run and leaves the input in
# build-fuzz/findings/ (turn it into a regression test under tests/).
# --ci: a fixed seed and a fixed number of runs per target (reproducible, for
# CI's gate); otherwise random seeds for --seconds per target.
# usage: scripts/fuzz.sh [--seconds=N] [--ci]   (per target; default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60 budget=()
for arg in "$@"; do
  case $arg in
    --seconds=*) seconds=${arg#*=} ;;
    --ci) budget=(-seed=1 -runs=20000) ;;
    *) echo "error: unknown argument $arg (usage: scripts/fuzz.sh [--seconds=N] [--ci])" >&2; exit 1 ;;
  esac
done
scripts/setup.sh >/dev/null
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DQDQ_FUZZ=ON -DQDQ_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz
scripts/build.sh build >/dev/null  # qexec and qdq-dataset make the seeds

corpus=build-fuzz/corpus findings=build-fuzz/findings
rm -rf "$corpus" && mkdir -p "$corpus"/{onnx_import,engine_run,plan_load,cifar_reader,image_decode} "$findings"
node=/usr/share/libonnx-testdata/data/node
i=0
for dir in "$node"/test_*; do  # every 4th conformance model: a spread of ops
  i=$((i + 1)); ((i % 4 == 0)) || continue
  cp "$dir/model.onnx" "$corpus/onnx_import/$(basename "$dir").onnx"
done
# The engines' seeds: the conformance models of the ops qdq claims, and the
# Q/DQ ones the passes rewrite.
while read -r op; do
  for dir in "$node"/test_"$(echo "$op" | sed -E 's/([a-z0-9])([A-Z])/\1_\2/g' | tr '[:upper:]' '[:lower:]')"*; do
    [ -f "$dir/model.onnx" ] && cp "$dir/model.onnx" "$corpus/engine_run/$(basename "$dir").onnx"
  done
done < <(grep -v '^#' tests/conformance/claimed_ops.txt | awk '{print $1}')
for name in test_qlinearconv test_conv_with_strides_padding test_relu test_add_bcast test_quantizelinear; do
  int8=""; [ $name = test_qlinearconv ] && int8=--int8
  build/tools/qexec --onnx="$node/$name/model.onnx" $int8 --saveEngine="$corpus/plan_load/$name.plan" \
    --skipInference >/dev/null 2>&1 || true
done
data=build/data/fashion-mnist
[ -f "$data/test_batch.bin" ] || build/tools/qdq-dataset fashion-mnist --out="$data" >/dev/null
head -c $((3073 * 2)) "$data/test_batch.bin" >"$corpus/cifar_reader/two_records.bin"
head -c 100 "$data/test_batch.bin" >"$corpus/cifar_reader/short.bin"
build/tools/qdq-dataset fashion-mnist --format=png --out=build-fuzz/png >/dev/null
find build-fuzz/png -name '0000[0-7].png' -exec cp {} "$corpus/image_decode/" \;
{ printf 'P6\n16 12\n255\n'; for ((p = 0; p < 16 * 12; ++p)); do printf "\\x$(printf %02x $((p % 256)))\\x40\\x80"; done; } \
  >build-fuzz/seed.ppm
cjpeg -quality 90 build-fuzz/seed.ppm >"$corpus/image_decode/seed.jpg"
cjpeg -grayscale -progressive build-fuzz/seed.ppm >"$corpus/image_decode/seed_gray_progressive.jpg"
for target in onnx_import engine_run plan_load cifar_reader image_decode; do  # what once broke
  cp tests/fuzz/regressions/$target/* "$corpus/$target/" 2>/dev/null || true
done

failed=0
for target in onnx_import engine_run plan_load cifar_reader image_decode; do
  echo "== $target: ${budget[*]:-random seeds} for at most $seconds s"
  if ! build-fuzz/tests/fuzz/${target}_fuzz "$corpus/$target" "${budget[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -timeout=20 -max_len=65536 -artifact_prefix="$findings/$target-" -print_final_stats=1 \
      >"build-fuzz/$target.log" 2>&1; then
    failed=1
    echo "FAILED: $target (build-fuzz/$target.log, inputs in $findings/)"
    grep -m5 -E "ERROR|SUMMARY" "build-fuzz/$target.log" || true
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build-fuzz/$target.log" | tr '\n' ' '
  echo
done
exit $failed
