#!/usr/bin/env bash
# Installs everything qdq needs on a fresh Debian 12 machine: the build's Debian
# packages, ONNX's conformance data, Fashion-MNIST, and the ONNX Runtime peer
# (npm onnxruntime-node, into third_party/ort). Safe to run again: it only
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libeigen3-dev libgtest-dev googletest libbenchmark-dev zlib1g-dev
  libjpeg-dev libjpeg-turbo-progs libpng-dev libxxhash-dev nlohmann-json3-dev clang libclang-rt-dev clang-format dataset-fashion-mnist)
# Node.js runs the ONNX Runtime peer; a machine may already have it from
# elsewhere (nodesource), where Debian's npm package would conflict.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The peer we compare against. Its install script downloads GPU binaries (which
# fails offline); the CPU library ships inside the package, so skip the script.
ort_version=1.30.0
if [ ! -f third_party/ort/node_modules/onnxruntime-node/package.json ]; then
  echo "setup: installing onnxruntime-node@$ort_version (npm, --ignore-scripts)"
  mkdir -p third_party/ort
  (cd third_party/ort && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --ignore-scripts --no-audit --no-fund --loglevel=error "onnxruntime-node@$ort_version" >/dev/null)
fi
