// The calibration cache: a text file of tensor name -> range, written after
// calibration and read back instead of calibrating again (TensorRT's
// calibration cache, in a form a person can read and diff):
//
//   qdq-calibration-cache 2
//   model 9f2c0a1b33d4e5f6      fingerprint of the FP32 model it was made for
//   calibrator entropy 512      how (informational)
//   input.1 -0.66 2.64          one line per tensor: name, min, max
//   ...
//
// Version 1 caches (name, amax, signed|unsigned: [-amax, amax] or [0, amax])
// are still read.
// A cache made for another model (a different fingerprint) is refused.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "calibration/calibrate.h"

namespace qdq {

struct CalibrationCache {
  uint64_t model = 0;
  std::string calibrator;  // e.g. "entropy 512": what made it
  std::map<std::string, TensorRange> ranges;
};

// The fingerprint of an FP32 model: the hash of its serialized ONNX form
// (export_onnx of the graph calibration runs on).
uint64_t model_fingerprint(const std::string& serialized_model);
std::string format_calibration_cache(const CalibrationCache& cache);
// Throws qdq::Error naming `path` and the line on malformed text.
CalibrationCache parse_calibration_cache(const std::string& text, const std::string& path);

}  // namespace qdq
