#!/usr/bin/env bash
# Packs what bench/device_run.sh needs on a machine without the build's
# development packages (the device machine): qexec, the kernel tests, the peak
# benchmark and the shared libraries they load, into OUT.tar.xz.
# usage: bench/device_bundle.sh OUT.tar.xz
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "$1")
mkdir -p "$(dirname "$out")"
scripts/build.sh build >/dev/null
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
cp build/tools/qexec build/tests/qdq_unit_tests build/bench/qdq_peak "$stage/bin/"
for binary in "$stage"/bin/*; do
  ldd "$binary" | awk '$3 ~ /^\// {print $3}' | grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    xargs -r cp -L -t "$stage/lib/"
done
tar -C "$stage" -cJf "$out" bin lib
echo "wrote $out ($(du -h "$out" | cut -f1))"
