// FP32 model -> QDQ model in one call: BN and constants folded first, then
// the calibration cache read (when it exists and fits the model) or the
// tensors calibrated on real images (and the cache written), then Q/DQ
// inserted (calibration/insert_qdq.h). qdq-opt --quantize and qexec --int8 on
// an FP32 model share it.
#pragma once

#include <string>
#include <vector>

#include "calibration/calibrate.h"
#include "calibration/insert_qdq.h"
#include "calibration/select_calibrator.h"
#include "data/dataset.h"
#include "graph/graph.h"
#include "support/status.h"

namespace qdq {

struct QuantizeModelOptions {
  std::string calib_data;  // dataset spec (qeval's); may be empty when the cache exists
  DatasetOptions dataset;
  CalibrationOptions calibration;
  QuantizeOptions layers;
  std::string cache_path;  // empty: no cache
  // > 0: no calibration, every activation range [-amax, amax] (qexec --int8
  // without calibration data: timing only, accuracy meaningless).
  float placeholder_amax = 0.0f;
};

struct QuantizeModelReport {
  int layers = 0;           // quantized
  int tensors = 0;          // activation tensors given a range
  bool from_cache = false;  // the ranges came from the cache
  bool wrote_cache = false;
  std::string calibrator;                 // how the ranges were made (the cache's line)
  std::vector<CalibratorScore> scores;    // --calibrator=auto's candidates, when it ran
  Calibrator chosen = Calibrator::kAuto;  // and its choice
};

// Rewrites `graph` (an FP32 model) into QDQ form.
Result<QuantizeModelReport> quantize_model(Graph& graph, const QuantizeModelOptions& options);

}  // namespace qdq
