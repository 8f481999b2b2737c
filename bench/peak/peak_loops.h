// Register-only multiply-add loops: the machine's compute ceiling per
// instruction path, with no memory traffic. Each runs `iterations` rounds of
// independent accumulator chains (enough of them to cover the instruction's
// latency) and returns the multiply-adds it did; the results feed a sink so
// nothing is optimized away.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/cpu_features.h"

namespace qdq::bench {

struct PeakLoop {
  std::string name;  // "int8 avx512vnni vpdpbusd zmm", ...
  Isa level;         // the CPU must run this kernel level
  bool int8;         // an int8 path (else FP32)
  int64_t (*run)(int64_t iterations);
};

// Every loop, the int8 paths of qdq's kernel levels and the FP32 FMA paths.
const std::vector<PeakLoop>& peak_loops();

}  // namespace qdq::bench
