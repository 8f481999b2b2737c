// The flags that describe images (qeval's --mean/--std/--resize/--crop/--labels)
// and calibration (qdq-opt --quantize, qexec --int8 on an FP32 model), parsed
// the same way by every tool.
#pragma once

#include <vector>

#include "calibration/quantize_model.h"
#include "cli/flags.h"
#include "data/dataset.h"

namespace qdq::cli {

const std::vector<FlagSpec>& image_flag_specs();
DatasetOptions parse_image_flags(const Flags& flags);

const std::vector<FlagSpec>& calibration_flag_specs();
// --calibData, --calib, --calibrator, --percentile, --calibImages,
// --keepFirstLayer/--keepLastLayer, and the image flags for --calibData.
// The progress bar goes to stderr.
QuantizeModelOptions parse_calibration_flags(const Flags& flags);

// `base` followed by `more` (a tool's own flags, then shared ones).
std::vector<FlagSpec> with_flags(std::vector<FlagSpec> base, const std::vector<FlagSpec>& more);

}  // namespace qdq::cli
