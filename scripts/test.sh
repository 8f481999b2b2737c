#!/usr/bin/env bash
# Builds qdq (warnings as errors) and runs the whole test suite: unit tests, ONNX
# conformance, command-line tests and the comparison with ONNX Runtime.
# usage: scripts/test.sh [--sanitize]   (--sanitize: ASan+UBSan build in build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  scripts/build.sh "$dir" -DQDQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir=build
  scripts/build.sh "$dir"
fi
cd "$dir"
# ctest runs as many tests at once as there are cores, each with threads of
# its own: threads that spin while they wait would hold the cores the others
# need (qdq_opt_models took 15 s alone, 83-315 s beside the rest here).
export OMP_WAIT_POLICY=passive
ctest --output-on-failure --timeout 900 -j"$(nproc)"
