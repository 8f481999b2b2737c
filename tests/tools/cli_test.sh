#!/usr/bin/env bash
# The command-line contract of qexec, qdq-opt, qeval and qdq-dataset (../shared/CONTRACT.md):
# --help exits 0; bad usage and bad input print ONE "error:" line and exit 1;
# no partial output files; the performance summary has the fixed lines.
# usage: cli_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1 src=$2
qexec=$build/tools/qexec
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAILED: $1"; }

# expect_error NAME PATTERN CMD...: exit 1, exactly one stderr line "error: ...PATTERN..."
expect_error() {
  local name=$1 pattern=$2; shift 2
  timeout 60 "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  local lines; lines=$(wc -l <"$work/err")
  if [ $rc -eq 1 ] && [ "$lines" -eq 1 ] && grep -q "^error: .*$pattern" "$work/err"; then pass
  else fail "$name (rc=$rc, stderr: $(head -c 300 "$work/err"))"; fi
}

model=$src/models/resnet20.fp32.onnx
qat=$src/models/resnet20.qat.onnx

# --help
"$qexec" --help >"$work/help"
if grep -q -- "--onnx" "$work/help"; then pass; else fail "qexec --help"; fi
if "$build/tools/qdq-dataset" --help >/dev/null; then pass; else fail "qdq-dataset --help"; fi

# Bad usage
expect_error "no model" "no model given" "$qexec"
expect_error "unknown flag" "unknown flag --frobnicate" "$qexec" --onnx="$model" --frobnicate
# --int8 on an FP32 model without calibration data: placeholder ranges, said once.
"$qexec" --onnx="$model" --int8 --iterations=1 --duration=0 --warmUp=0 >"$work/out" 2>"$work/err"
if [ $? -eq 0 ] && [ "$(grep -c '^warning: .*placeholder ranges.*accuracy is meaningless' "$work/err")" -eq 1 ] &&
  grep -q '^Engine: precision=int8' "$work/out"
then pass; else fail "qexec --int8 on FP32 without calibration: $(head -c 300 "$work/err")"; fi
expect_error "calibration flags on a QDQ model" "quantized already" "$qexec" --onnx="$qat" --int8 --calibImages=8
expect_error "calibration flags without --int8" "go with --onnx=FP32 model --int8" "$qexec" --onnx="$model" --calibImages=8
expect_error "missing plan" "cannot open" "$qexec" --loadEngine=x.plan
expect_error "bad threads" "threads" "$qexec" --onnx="$model" --threads=0
expect_error "bad iterations" "not an integer" "$qexec" --onnx="$model" --iterations=ten
expect_error "bad shapes spec" "shape spec" "$qexec" --onnx="$model" --shapes=input:1xAx32x32
expect_error "shapes unknown input" "not an input" "$qexec" --onnx="$model" --shapes=nope:1x3x32x32
expect_error "wrong shape" "expected shape" "$qexec" --onnx="$model" --shapes=input:1x3x30x32 --iterations=1 --duration=0 --warmUp=0

# Bad input files
expect_error "missing file" "cannot open" "$qexec" --onnx="$work/missing.onnx"
: >"$work/empty.onnx"
expect_error "empty file" "file is empty" "$qexec" --onnx="$work/empty.onnx"
head -c 5000 /dev/urandom >"$work/garbage.onnx"
expect_error "garbage file" "onnx" "$qexec" --onnx="$work/garbage.onnx"
head -c 300000 "$model" >"$work/truncated.onnx"
expect_error "truncated model" "onnx" "$qexec" --onnx="$work/truncated.onnx"
head -c 100 /dev/zero >"$work/short.raw"
expect_error "input file size" "needs 12288" "$qexec" --onnx="$model" --loadInputs=input:"$work/short.raw"
expect_error "input name" "not an input" "$qexec" --onnx="$model" --loadInputs=other:"$work/short.raw"
expect_error "bad dataset" "whole number of CIFAR-10 records" "$build/tools/qdq-dataset" tensor --dataset="$work/short.raw" --out="$work/x.raw"

# A bit-flipped model never crashes: it loads and runs, or fails with one error line.
for offset in 0 17 1000 50000 200000 600000 1000000; do
  cp "$model" "$work/flip.onnx"
  printf '\xff' | dd of="$work/flip.onnx" bs=1 seek=$offset conv=notrunc status=none
  timeout 60 "$qexec" --onnx="$work/flip.onnx" --iterations=1 --duration=0 --warmUp=0 >/dev/null 2>"$work/err"
  rc=$?
  if [ $rc -eq 0 ] || { [ $rc -eq 1 ] && [ "$(wc -l <"$work/err")" -eq 1 ] && grep -q '^error: ' "$work/err"; }; then pass
  else fail "bit flip at $offset (rc=$rc: $(head -c 300 "$work/err"))"; fi
done

# Output files are written whole or not at all.
expect_error "unwritable output" "cannot write" "$qexec" --onnx="$model" --iterations=1 --duration=0 --warmUp=0 \
  --exportOutput="$work/no/such/dir/out.json"
if ls "$work"/no 2>/dev/null | grep -q .; then fail "partial output left behind"; else pass; fi

# A successful run: the summary block, and the export files parse as JSON.
"$qexec" --onnx="$qat" --iterations=3 --duration=0 --warmUp=0 --percentile=50,99 \
  --exportOutput="$work/out.json" --exportTimes="$work/times.json" >"$work/summary" 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -q '^=== Performance summary ===$' "$work/summary" &&
  grep -qE '^Throughput: [0-9.]+ qps$' "$work/summary" &&
  grep -qE '^Latency: min = [0-9.]+ ms, max = [0-9.]+ ms, mean = [0-9.]+ ms, median = [0-9.]+ ms, percentile\(50%\) = [0-9.]+ ms, percentile\(99%\) = [0-9.]+ ms$' "$work/summary" &&
  grep -qE '^Engine: precision=fp32 layers=[0-9]+ int8=0 fp32=[0-9]+ weights=[0-9.]+ MB activations=[0-9.]+ MB threads=[0-9]+ isa=[a-z0-9]+$' "$work/summary" &&
  grep -qE '^Build time: [0-9.]+ ms   Load time: [0-9.]+ ms$' "$work/summary"; then pass
else fail "performance summary (rc=$rc): $(cat "$work/summary" "$work/err" | head -c 600)"; fi
if node -e '
  const o = JSON.parse(require("fs").readFileSync(process.argv[1])); const t = JSON.parse(require("fs").readFileSync(process.argv[2]));
  const v = Object.values(o)[0]; if (v.shape.join() !== "1,10" || v.data.length !== 10 || t.length < 3 || !(t[0].latencyMs > 0)) process.exit(1);' \
  "$work/out.json" "$work/times.json"; then pass; else fail "exported JSON"; fi

# The INT8 engine's summary.
"$qexec" --onnx="$qat" --int8 --iterations=2 --duration=0 --warmUp=0 >"$work/summary" 2>"$work/err" &&
  grep -qE '^Engine: precision=int8 layers=[0-9]+ int8=[1-9][0-9]* fp32=[0-9]+ .* isa=(ref|avx2|avxvnni|avx512vnni|amx)$' "$work/summary" &&
  pass || fail "--int8 summary: $(cat "$work/summary" "$work/err" | head -c 400)"
QDQ_ISA=ref "$qexec" --onnx="$qat" --int8 --iterations=1 --duration=0 --warmUp=0 | grep -q 'isa=ref$' &&
  pass || fail "QDQ_ISA=ref"
expect_error "QDQ_ISA unknown" "not a kernel level" env QDQ_ISA=sse9 "$qexec" --onnx="$qat" --int8

# --batch and --shapes give the same per-image outputs as batch 1.
"$qexec" --onnx="$model" --batch=2 --iterations=1 --duration=0 --warmUp=0 --exportOutput="$work/b2.json" >/dev/null &&
  node -e 'const v = Object.values(JSON.parse(require("fs").readFileSync(process.argv[1])))[0]; if (v.shape.join() !== "2,10") process.exit(1)' "$work/b2.json" &&
  pass || fail "--batch=2 output shape"

# qdq-opt
opt=$build/tools/qdq-opt
"$opt" --help >"$work/help"
if grep -q -- "--passes" "$work/help"; then pass; else fail "qdq-opt --help"; fi
if "$opt" --list-passes | grep -q "^fold_constants: "; then pass; else fail "qdq-opt --list-passes"; fi
expect_error "qdq-opt no output" "no output given" "$opt" "$model"
expect_error "qdq-opt unknown pass" "unknown pass 'frob'" "$opt" "$model" -o "$work/o.onnx" --passes=fold_constants,frob
expect_error "qdq-opt lowering needs qoperator" "needs --form=qoperator" "$opt" "$model" -o "$work/o.onnx" --passes=fold_qdq_conv
expect_error "qdq-opt bad model" "onnx" "$opt" "$work/garbage.onnx" -o "$work/o.onnx"
if [ ! -e "$work/o.onnx" ]; then pass; else fail "qdq-opt left an output after an error"; fi
if "$opt" "$qat" -o "$work/o.onnx" --passes=fold_constants --report="$work/r.json" >"$work/out" &&
  grep -q '^fold_constants: [1-9][0-9]* changes$' "$work/out" && ! grep -q fuse_batchnorm "$work/out" &&
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1])); if (r.before.BatchNormalization !== 21 || r.after.BatchNormalization !== 21 || r.after.QuantizeLinear !== 22) process.exit(1)' "$work/r.json"
then pass; else fail "qdq-opt --passes/--report: $(head -c 400 "$work/out")"; fi

# qeval on real images: contract lines, agreement with itself, JSON, bad data.
qeval=$build/tools/qeval
data=$build/data/fashion-mnist
[ -f "$data/test_batch.bin" ] || "$build/tools/qdq-dataset" fashion-mnist --out="$data" >/dev/null
"$qeval" --onnx="$src/models/resnet20.ptq_u8s8.onnx" --int8 --dataset=cifar10:"$data" --mean=0.2190 --std=0.3318 \
  --limit=64 --batch=16 --compare="$src/models/resnet20.ptq_u8s8.onnx" --json="$work/eval.json" >"$work/eval" 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -qE '^top1 = [0-9.]+ %  top5 = [0-9.]+ %  images = 64$' "$work/eval" &&
  grep -qE '^agreement = [0-9.]+ %' "$work/eval" &&
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1])); if (r.images !== 64 || !(r.top1 > 80) || !(r.agreement >= 95)) process.exit(1)' "$work/eval.json"
then pass; else fail "qeval (rc=$rc): $(cat "$work/eval" "$work/err" | head -c 500)"; fi
expect_error "qeval truncated dataset" "whole number of CIFAR-10 records" "$qeval" --onnx="$model" --dataset=cifar10:"$work/short.raw"
expect_error "qeval label offset" "outside the model's 10 classes" "$qeval" --onnx="$model" --dataset=cifar10:"$data" --limit=4 --labelOffset=10
# The same 64 images as PNG files (qdq-dataset --format=png) read through
# imagenet: with a labels file in CIFAR order: the same top-1, to the image.
"$build/tools/qdq-dataset" fashion-mnist --format=png --out="$work/png" >/dev/null
for i in $(seq 0 63); do f=$(cd "$work/png" && ls -d class_*/"$(printf %05d "$i")".png); echo "$f ${f:6:1}"; done >"$work/val.txt"
for spec in "cifar10:$data" "imagenet:$work/png --labels=$work/val.txt --resize=32 --crop=32"; do
  # shellcheck disable=SC2086
  "$qeval" --onnx="$src/models/resnet20.ptq_u8s8.onnx" --int8 --dataset=$spec --mean=0.2190 --std=0.3318 --limit=64 \
    2>/dev/null | grep '^top1'
done >"$work/both"
if [ "$(wc -l <"$work/both")" -eq 2 ] && [ "$(sort -u "$work/both" | wc -l)" -eq 1 ]; then pass
else fail "qeval imagenet: vs cifar10: $(cat "$work/both")"; fi
expect_error "qeval bad dataset kind" "unknown" "$qeval" --onnx="$model" --dataset=mnist:"$data"
# Report mode: the published table, from a list of models.
printf '# comment\nResNet-20 fp32=%s qat=%s ptq=%s\nPTQ-only ptq=%s\n' "$src/models/resnet20.fp32.onnx" \
  "$src/models/resnet20.qat.onnx" "$src/models/resnet20.ptq_u8s8.onnx" "$src/models/resnet20.ptq_s8s8.onnx" |
  sed "s|=$src/models/|=models/|g" >"$work/list.txt"
mkdir -p "$work/models" && cp "$src"/models/resnet20.*.onnx "$work/models/"
"$qeval" --report="$work/list.txt" --dataset=cifar10:"$data" --mean=0.2190 --std=0.3318 --limit=32 \
  --markdown="$work/report.md" >"$work/out" 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -qE '^\| ResNet-20 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| 1\.1 → 0\.3 \|$' "$work/out" &&
  grep -qE '^\| PTQ-only \| — \| — \| [0-9.]+ \| — \| [0-9.]+ \| — → 0\.3 \|$' "$work/out" &&
  cmp -s "$work/out" "$work/report.md"
then pass; else fail "qeval --report (rc=$rc): $(cat "$work/out" "$work/err" | head -c 600)"; fi
# Calibration: qdq-opt --quantize writes a QDQ model and the cache (the
# default calibrator, auto, lists its candidates and its choice); with the
# cache it writes the same model without images; a cache of another model,
# a malformed one, or no images at all are refused.
calib=(--calibData=cifar10:"$data" --mean=0.2190 --std=0.3318 --calibImages=64)
rm -f "$work/o.onnx"
"$opt" "$model" --quantize "${calib[@]}" --calib="$work/r20.cache" -o "$work/q1.onnx" >"$work/out" 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -qE '^quantize: [0-9]+ layers, [0-9]+ activation tensors, ranges from calibration' "$work/out" &&
  grep -q '^calibrating \[#*\] 128/128 images$' "$work/err" &&
  grep -q '^choosing the calibrator \[#*\] 320/320 images$' "$work/err" &&
  [ "$(grep -c "^quantize: .* top-1 differs from FP32's on [0-9]* of 64 calibration images" "$work/out")" = 5 ] &&
  chosen=$(grep '<- chosen$' "$work/out" | awk '{print $2}') && [ -n "$chosen" ] &&
  head -1 "$work/r20.cache" | grep -q '^qdq-calibration-cache 2$' &&
  sed -n 3p "$work/r20.cache" | grep -q "^calibrator auto: $chosen"
then pass; else fail "qdq-opt --quantize (rc=$rc): $(cat "$work/out" "$work/err" | head -c 400)"; fi
"$opt" "$model" --quantize --calib="$work/r20.cache" -o "$work/q2.onnx" >"$work/out" 2>"$work/err"
if [ $? -eq 0 ] && grep -q 'ranges from the cache' "$work/out" && cmp -s "$work/q1.onnx" "$work/q2.onnx"
then pass; else fail "qdq-opt --quantize from the cache: $(cat "$work/out" "$work/err" | head -c 400)"; fi
"$qeval" --onnx="$work/q1.onnx" --int8 --dataset=cifar10:"$data" --mean=0.2190 --std=0.3318 --limit=200 2>/dev/null >"$work/eval"
if awk '/^top1/ {exit !($3 > 85)}' "$work/eval"; then pass; else fail "quantized model top-1: $(cat "$work/eval")"; fi
expect_error "stale calibration cache" "made for another model" "$opt" "$src/models/mobilenetv2.fp32.onnx" --quantize --calib="$work/r20.cache" -o "$work/o.onnx"
printf 'qdq-calibration-cache 1\nmodel zz\n' >"$work/bad.cache"
expect_error "malformed calibration cache" "bad.cache:2" "$opt" "$model" --quantize --calib="$work/bad.cache" -o "$work/o.onnx"
expect_error "quantize without images" "give --calibData" "$opt" "$model" --quantize -o "$work/o.onnx"
expect_error "quantize a QDQ model" "quantized already" "$opt" "$qat" --quantize "${calib[@]}" -o "$work/o.onnx"
expect_error "bad calibrator" "auto, mse, lp, entropy, percentile or minmax" "$opt" "$model" --quantize "${calib[@]}" --calibrator=kl -o "$work/o.onnx"
expect_error "calibration flag without --quantize" "belongs to --quantize" "$opt" "$model" --calibImages=8 -o "$work/o.onnx"
if [ ! -e "$work/o.onnx" ]; then pass; else fail "qdq-opt --quantize left an output after an error"; fi
"$qexec" --onnx="$model" --int8 --calib="$work/r20.cache" --iterations=1 --duration=0 --warmUp=0 >"$work/out" 2>"$work/err"
if [ $? -eq 0 ] && ! grep -q "warning: .*placeholder" "$work/err" && grep -q '^Engine: precision=int8' "$work/out"
then pass; else fail "qexec --int8 --calib on an FP32 model: $(head -c 300 "$work/err")"; fi

# Debugging a quantized model (#12): the explainer, the layer comparison, the
# accuracy gate, --best.
noresq=$src/models/resnet20.qat_noresq.onnx
"$qexec" --onnx="$noresq" --int8 --verbose --iterations=1 --duration=0 --warmUp=0 >"$work/out" 2>"$work/err"
# Every Add runs in a conv's epilogue (the downsampling blocks' adds two
# float-output convs: the shortcut conv reads the other's float output).
if [ $? -eq 0 ] && ! grep -q "^\[I\] float Add" "$work/out" &&
  grep -q "^\[I\] float QuantizeLinear '/layers/layers.4/conv1/input_quantizer/QuantizeLinear': quantizes the float output of QConv '/layers/layers.3/shortcut/shortcut.0/Conv'" "$work/out" &&
  grep -q "^\[I\] float QuantizeLinear '/conv/input_quantizer/QuantizeLinear': quantizes the model's float input" "$work/out" &&
  grep -qE '^\[I\] INT8 layers: [0-9]+ of [0-9]+; INT8 multiply-adds: 40\.81 M of 40\.81 M \(100\.0 %\)$' "$work/out"
then pass; else fail "qexec --verbose explainer: $(grep -E 'float|INT8' "$work/out" | head -c 600)"; fi
"$opt" "$noresq" -o "$work/o.onnx" --explain --skip-passes=insert_residual_qdq >"$work/before" 2>/dev/null &&
  "$opt" "$noresq" -o "$work/o.onnx" --explain >"$work/after" 2>/dev/null
# Without the residual pass the engine adds the float identities exactly and
# quantizes each block's float sum for the next block (7 float Q after a
# QConv); with it, those sums are quantized in the convs' epilogues.
before=$(grep -c "^float QuantizeLinear .*quantizes the float output of QConv" "$work/before")
after=$(grep -c "^float QuantizeLinear .*quantizes the float output of QConv" "$work/after")
adds=$(cat "$work/before" "$work/after" | grep -c "^float Add ")
if [ "$before" -eq 7 ] && [ "$after" -eq 0 ] && [ "$adds" -eq 0 ] && grep -q '(per image)$' "$work/after"; then pass
else fail "qdq-opt --explain before/after the residual pass: $before, $after float Q, $adds float Adds"; fi
expect_error "qdq-opt unknown skipped pass" "unknown pass 'frob'" "$opt" "$model" -o "$work/o.onnx" --skip-passes=frob
rm -f "$work/o.onnx"
"$qexec" --onnx="$qat" --int8 --compareLayers="$model" --exportLayers="$work/layers.json" \
  --iterations=1 --duration=0 --warmUp=0 >"$work/out" 2>"$work/err"
if [ $? -eq 0 ] && grep -qE '^=== Layer comparison: engine vs .*resnet20.fp32.onnx \(2[0-9] tensors, worst first\) ===$' "$work/out" &&
  node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1]));
    if (l.length < 20 || !l.every(x => x.sqnrDb > 10 && x.cosine > 0.9 && x.elements > 0)) process.exit(1)' "$work/layers.json"
then pass; else fail "--compareLayers: $(head -c 600 "$work/out") $(head -c 300 "$work/err")"; fi
# The Q/DQ model against itself in reference semantics: the first layers agree exactly.
"$qexec" --onnx="$qat" --int8 --compareLayers="$qat" --exportLayers="$work/self.json" --iterations=1 --duration=0 --warmUp=0 >/dev/null 2>&1 &&
  node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1])); if (l[0].maxAbsError !== 0) process.exit(1)' "$work/self.json" &&
  pass || fail "--compareLayers against the model itself"
expect_error "compareLayers missing reference" "cannot open" "$qexec" --onnx="$qat" --int8 --compareLayers="$work/none.onnx" --iterations=1 --duration=0 --warmUp=0
"$qexec" --onnx="$model" --exportOutput="$work/ref.json" --iterations=1 --duration=0 --warmUp=0 >/dev/null 2>&1
"$qexec" --onnx="$qat" --int8 --loadRefOutputs="$work/ref.json" --accuracyAlgorithm=cos --atol=0.02 \
  --iterations=1 --duration=0 --warmUp=0 >"$work/out" 2>"$work/err"
if [ $? -eq 0 ] && grep -qE "^output 'logits': cos error [0-9.e-]+, limit 0.02: PASS$" "$work/out" &&
  grep -q '^Accuracy check: PASSED$' "$work/out"; then pass
else fail "accuracy gate pass: $(head -c 400 "$work/out") $(head -c 300 "$work/err")"; fi
expect_error "accuracy gate miss" "accuracy check failed against .*output 'logits' linf error" \
  "$qexec" --onnx="$qat" --int8 --loadRefOutputs="$work/ref.json" --atol=0.001 --iterations=1 --duration=0 --warmUp=0
expect_error "accuracy algorithm" "must be linf, l1, l2 or cos" "$qexec" --onnx="$qat" --loadRefOutputs="$work/ref.json" --accuracyAlgorithm=l3 --iterations=1 --duration=0 --warmUp=0
printf '{"logits": {"shape": [1, 10], "data": [1, 2]}}' >"$work/short.json"
expect_error "reference values count" "2 values for shape" "$qexec" --onnx="$qat" --loadRefOutputs="$work/short.json" --iterations=1 --duration=0 --warmUp=0
printf '{"logits": [' >"$work/bad.json"
expect_error "reference not JSON" "not valid JSON" "$qexec" --onnx="$qat" --loadRefOutputs="$work/bad.json" --iterations=1 --duration=0 --warmUp=0
"$qexec" --onnx="$qat" --best --verbose --iterations=2 --duration=0 --warmUp=0 >"$work/out" 2>"$work/err"
if [ $? -eq 0 ] && grep -qE '^\[I\] --best chose the (int8|mixed|fp32) engine' "$work/out" &&
  [ "$(grep -c "^\[I\] --best: layer '.*': int8 " "$work/out")" -eq 22 ] && grep -q '^Engine: precision=' "$work/out"
then pass; else fail "--best: $(head -c 400 "$work/err")"; fi
# --int8 times the FP32 engine after its own timing, unless told not to.
"$qexec" --onnx="$qat" --int8 --verbose --iterations=1 --duration=0 --warmUp=0 >"$work/with" 2>/dev/null
"$qexec" --onnx="$qat" --int8 --verbose --noFp32Compare --iterations=1 --duration=0 --warmUp=0 >"$work/without" 2>/dev/null
if grep -q '^\[I\] the FP32 engine on the same inputs: median' "$work/with" &&
  ! grep -q 'the FP32 engine on the same inputs' "$work/without" && grep -q '^Engine: precision=int8' "$work/without"
then pass; else fail "--int8's FP32 comparison and --noFp32Compare"; fi
# --verbose names each conv's epilogue: the QAT file's float sums without a
# residual pass the affine form's check (ISA levels from AVX2 up; with or
# without exception slots), the residual blocks' and the classifier's stay
# in float steps; PTQ's are integer.
"$qexec" --onnx="$src/models/resnet20.ptq_u8s8.onnx" --int8 --verbose --noFp32Compare --iterations=1 --duration=0 --warmUp=0 >"$work/ptq" 2>/dev/null
convs=$(grep -c "^\[I\] layer QConv " "$work/without")
affine=$(grep -cE "^\[I\] layer QConv .* epilogue=affine(-corrected)?$" "$work/without")
float=$(grep -c "^\[I\] layer QConv .* epilogue=float$" "$work/without")
if [ "$convs" -eq 22 ] && [ "$affine" -ge 10 ] && [ $((affine + float)) -eq "$convs" ] &&
  grep -q "^\[I\] layer QConv '/fc/Gemm' .* epilogue=float$" "$work/without" &&
  [ "$(grep -c "^\[I\] layer QConv .* epilogue=integer$" "$work/ptq")" -eq 22 ]
then pass; else fail "--verbose epilogue forms: $convs convs, $affine affine, $float float"; fi
# --dumpProfile and --exportProfile: a row per layer, the same layers in
# both, the shares summing to 100 %, each conv's epilogue named (the others
# have none).
"$qexec" --onnx="$qat" --int8 --noFp32Compare --iterations=20 --duration=0 --warmUp=0 --dumpProfile \
  --exportProfile="$work/profile.json" >"$work/profile" 2>"$work/err"
status=$?
table=$(sed -n '/^=== Profile ([0-9]* iterations) ===$/,/ total$/p' "$work/profile")
rows=$(grep -cE '^ +[0-9.]+ +[0-9.]+  [a-z0-9+-]+ +(integer|affine|affine-corrected|float|-) +(int8|fp32) ' <<<"$table")
if [ $status -eq 0 ] && grep -qE '^ +[0-9.]+ +100\.00  total$' <<<"$table" &&
  [ "$(grep -cE ' (affine|affine-corrected) +int8 +QConv ' <<<"$table")" -ge 10 ] &&
  node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1]));
    const forms = ["integer", "affine", "affine-corrected", "float"];
    const sum = l.reduce((s, x) => s + x.percentage, 0);
    const ok = l.length === Number(process.argv[2]) && Math.abs(sum - 100) < 0.01 &&
      l.every(x => typeof x.name === "string" && typeof x.op === "string" &&
        ["int8", "fp32"].includes(x.precision) && typeof x.kernel === "string" && x.timeMs >= 0 &&
        (x.op === "QConv" ? forms.includes(x.epilogue) : x.epilogue === undefined)) &&
      l.some(x => x.epilogue === "float");
    if (!ok) process.exit(1)' "$work/profile.json" "$rows"
then pass; else fail "--dumpProfile / --exportProfile: $rows rows; $(head -c 300 "$work/err")"; fi
expect_error "--best on a plan" "build flags" "$qexec" --loadEngine="$work/x.plan" --best

printf 'Bad fp16=x.onnx\n' >"$work/bad_list.txt"
expect_error "qeval report bad line" "bad_list.txt:1: 'fp16=x.onnx' is not fp32=F" "$qeval" --report="$work/bad_list.txt" --dataset=cifar10:"$data"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
