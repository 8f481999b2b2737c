#!/usr/bin/env bash
# The real CIFAR-10 test images for the models of models/cifar10/: the JPEGs
# of ../shared/data/cifar10-test-jpg.tar.xz (or .data/cifar10/) unpacked to
# build/data/cifar10/test/ and the CIFAR-10 binary qdq-dataset decodes from
# them, build/data/cifar10/test_batch.bin, where that is not there yet.
# Without the tarball nothing is made (the callers then show no top-1).
# usage: scripts/cifar10_data.sh   (after the build: build/tools/qdq-dataset)
set -euo pipefail
cd "$(dirname "$0")/.."
cifar=build/data/cifar10
[ -f "$cifar/test_batch.bin" ] && exit 0
tarball=../shared/data/cifar10-test-jpg.tar.xz
[ -f "$tarball" ] || tarball=.data/cifar10/cifar10-test-jpg.tar.xz
[ -f "$tarball" ] || exit 0
mkdir -p "$cifar"
tar -xJf "$tarball" -C "$cifar"
build/tools/qdq-dataset folder --dataset="$cifar/test" --out="$cifar/test_batch.bin" >/dev/null
