#!/usr/bin/env bash
# Packs what bench/device_run.sh needs on a machine without the build's
# development packages (the device machine): qexec, qeval, qdq-dataset, the
# kernel tests, the peak benchmark, the shared libraries they load and the
# first 1,000 test images of Fashion-MNIST and CIFAR-10, into OUT.tar.xz.
# usage: bench/device_bundle.sh OUT.tar.xz
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "$1")
mkdir -p "$(dirname "$out")"
scripts/build.sh build >/dev/null
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
cp build/tools/qexec build/tools/qeval build/tools/qdq-dataset build/tests/qdq_unit_tests \
  build/bench/qdq_peak "$stage/bin/"
for binary in "$stage"/bin/*; do
  ldd "$binary" | awk '$3 ~ /^\// {print $3}' | grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    xargs -r cp -L -t "$stage/lib/"
done
# bench/run's top-1 columns read the first 1,000 test images of each set.
mkdir -p "$stage/data"
[ -f build/data/fashion-mnist/test_batch.bin ] ||
  build/tools/qdq-dataset fashion-mnist --out=build/data/fashion-mnist >/dev/null
head -c $((3073 * 1000)) build/data/fashion-mnist/test_batch.bin >"$stage/data/fashion-mnist.bin"
head -c $((3073 * 1000)) build/data/cifar10/test_batch.bin >"$stage/data/cifar10.bin"
tar -C "$stage" -cJf "$out" bin lib data
echo "wrote $out ($(du -h "$out" | cut -f1))"
