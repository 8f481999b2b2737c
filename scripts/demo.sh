#!/usr/bin/env bash
# The main job on the bundled defaults: converts Debian's Fashion-MNIST to CIFAR-10
# binary layout, then runs qexec on the bundled QAT ResNet-20 with a real test image
# and prints the trtexec-style performance summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
data=build/data/fashion-mnist
[ -f "$data/test_batch.bin" ] || build/tools/qdq-dataset fashion-mnist --out="$data"
build/tools/qdq-dataset tensor --dataset="$data/test_batch.bin" --first=0 --count=1 --out=build/data/image0.raw
model=${1:-models/resnet20.qat.onnx}
echo "qexec --onnx=$model --int8 --loadInputs=input:build/data/image0.raw"
build/tools/qexec --onnx="$model" --int8 --loadInputs=input:build/data/image0.raw --exportOutput=build/data/output.json
label=$(head -c1 "$data/test_batch.bin" | od -An -tu1 | tr -d ' ')
predicted=$(node -e 'const d = Object.values(JSON.parse(require("fs").readFileSync(process.argv[1])))[0].data;
  console.log(d.indexOf(Math.max(...d)))' build/data/output.json)
echo "test image 0: label $label, predicted class $predicted (logits in build/data/output.json)"
