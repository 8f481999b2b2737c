#!/usr/bin/env bash
# Plans through the tools: on every committed model, qexec --saveEngine then
# --loadEngine gives the same output bytes on real images, the same build gives
# the same plan bytes, a plan runs at a lower kernel level with a warning,
# qeval --loadEngine gives the same top-1 as --onnx, and bad plans get one
# error line.
# usage: plan_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1 src=$2
qexec=$build/tools/qexec
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$build/data/fashion-mnist"
[ -f "$data/test_batch.bin" ] || "$build/tools/qdq-dataset" fashion-mnist --out="$data" >/dev/null
"$build/tools/qdq-dataset" tensor --dataset="$data/test_batch.bin" --count=4 --out="$work/input.raw" >/dev/null
# --noFp32Compare: what an INT8 run builds and times after itself is not the plan's.
run=(--batch=4 --loadInputs=input:"$work/input.raw" --iterations=1 --duration=0 --warmUp=0 --noFp32Compare)
failed=0
fail() { echo "FAILED: $1"; failed=1; }

for model in "$src"/models/*.onnx "$src"/models/cifar10/*.onnx; do
  name=${model#"$src"/models/}; name=${name%.onnx}; name=${name//\//_}
  int8=--int8
  case $name in *fp32*) int8="" ;; esac
  if ! "$qexec" --onnx="$model" $int8 "${run[@]}" --saveEngine="$work/$name.plan" \
      --exportOutput="$work/$name.built.json" >"$work/log" 2>&1; then
    fail "$name: build: $(head -c 300 "$work/log")"; continue
  fi
  "$qexec" --onnx="$model" $int8 --batch=4 --saveEngine="$work/$name.again.plan" --skipInference >/dev/null 2>&1
  cmp -s "$work/$name.plan" "$work/$name.again.plan" || fail "$name: two builds gave different plans"
  if ! "$qexec" --loadEngine="$work/$name.plan" "${run[@]}" --exportOutput="$work/$name.loaded.json" \
      >"$work/log" 2>&1; then
    fail "$name: load: $(head -c 300 "$work/log")"; continue
  fi
  if cmp -s "$work/$name.built.json" "$work/$name.loaded.json"; then echo "ok: $name round trip"
  else fail "$name: the loaded plan's outputs differ from the built engine's"; fi
done

# A plan built at the best level, run at each lower one: same bytes, one warning.
plan=$work/resnet20.qat.plan
for isa in ref avx2; do
  [ "$(QDQ_ISA=$isa "$qexec" --help >/dev/null 2>&1; echo $?)" = 0 ] || continue
  if QDQ_ISA=$isa "$qexec" --loadEngine="$plan" "${run[@]}" --exportOutput="$work/lower.json" \
      >/dev/null 2>"$work/err"; then
    cmp -s "$work/resnet20.qat.built.json" "$work/lower.json" || fail "plan at $isa: outputs differ"
    grep -q "^warning: the plan was built for" "$work/err" ||
      [ "$(grep -c . "$work/err")" = 0 ] || fail "plan at $isa: unexpected stderr $(cat "$work/err")"
    echo "ok: plan at $isa"
  else
    fail "plan at $isa: $(cat "$work/err")"
  fi
done

# qeval on the plan and on the model it was built from.
eval_flags=(--dataset=cifar10:"$data/test_batch.bin" --limit=200 --mean=0.2190,0.2190,0.2190 --std=0.3318,0.3318,0.3318)
a=$("$build/tools/qeval" --onnx="$src/models/resnet20.qat.onnx" --int8 "${eval_flags[@]}" 2>/dev/null | grep '^top1')
b=$("$build/tools/qeval" --loadEngine="$plan" "${eval_flags[@]}" 2>/dev/null | grep '^top1')
if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "ok: qeval --loadEngine ($b)"
else fail "qeval --loadEngine: '$b' vs --onnx --int8: '$a'"; fi

# Dynamic batch range.
"$qexec" --onnx="$src/models/resnet20.ptq_u8s8.onnx" --int8 --minShapes=input:1x3x32x32 \
  --optShapes=input:2x3x32x32 --maxShapes=input:4x3x32x32 --saveEngine="$work/range.plan" --skipInference >/dev/null ||
  fail "range plan: build"
"$qexec" --loadEngine="$work/range.plan" --batch=4 --iterations=1 --duration=0 --warmUp=0 >/dev/null ||
  fail "range plan: batch 4 refused"

# Bad plans and bad usage: one error line, exit 1, no partial file.
expect_error() {
  local name=$1 pattern=$2; shift 2
  timeout 60 "$@" >/dev/null 2>"$work/err"
  local rc=$?
  if [ $rc -eq 1 ] && [ "$(wc -l <"$work/err")" -eq 1 ] && grep -q "^error: .*$pattern" "$work/err"; then
    echo "ok: $name"
  else fail "$name (rc=$rc, stderr: $(head -c 300 "$work/err"))"; fi
}
head -c 1000 "$plan" >"$work/truncated.plan"
: >"$work/empty.plan"
cp "$plan" "$work/flipped.plan"
printf '\x00' | dd of="$work/flipped.plan" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_error "missing plan" "cannot open" "$qexec" --loadEngine="$work/none.plan"
expect_error "empty plan" "file is empty" "$qexec" --loadEngine="$work/empty.plan"
expect_error "truncated plan" "truncated" "$qexec" --loadEngine="$work/truncated.plan"
expect_error "flipped plan" "checksum" "$qexec" --loadEngine="$work/flipped.plan"
expect_error "ONNX file as a plan" "not a qdq plan" "$qexec" --loadEngine="$src/models/resnet20.qat.onnx"
expect_error "range: batch 5" "outside the plan's range 1x3x32x32 .. 4x3x32x32" \
  "$qexec" --loadEngine="$work/range.plan" --batch=5
expect_error "onnx and plan" "not both" "$qexec" --onnx="$src/models/resnet20.qat.onnx" --loadEngine="$plan"
expect_error "int8 on a plan" "build flags" "$qexec" --loadEngine="$plan" --int8
expect_error "range without max" "needs both" "$qexec" --onnx="$src/models/resnet20.qat.onnx" --int8 \
  --minShapes=input:1x3x32x32 --skipInference
expect_error "plan into a missing folder" "" "$qexec" --onnx="$src/models/resnet20.qat.onnx" --int8 \
  --saveEngine="$work/no/such/dir/x.plan" --skipInference
[ -z "$(ls "$work/no" 2>/dev/null)" ] || fail "a partial plan was left behind"
exit $failed
