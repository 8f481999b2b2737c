// Choosing the calibrator for a model (--calibrator=auto, the default): no
// one rule of range suits every model (calibrate.h says where each fails),
// but the calibration images can tell. Each candidate's ranges quantize the
// model, the INT8 engine runs it on the images, and the candidate whose
// outputs agree best with the FP32 model's wins: the fewest images whose
// top-1 class differs from FP32's, counting as equal every candidate within
// twice the Poisson noise of the best count (2 sqrt(n), at least 1 image: on
// 512 images 9 and 10 differences say nothing), and among those the least
// mean squared output difference. No labels are needed; the measure is the
// one the accuracy goal uses (INT8 against FP32), on the images the ranges
// came from.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calibration/calibrate.h"
#include "calibration/insert_qdq.h"
#include "data/dataset.h"
#include "graph/graph.h"
#include "support/status.h"

namespace qdq {

struct CalibratorScore {
  Calibrator calibrator;
  int64_t images = 0;         // compared by top-1 (none when output 0 is not [N, classes])
  int64_t disagreements = 0;  // of those, whose top-1 class differs from FP32's
  double output_mse = 0.0;
  double agreement() const {
    return images ? 1.0 - static_cast<double>(disagreements) / static_cast<double>(images) : 0.0;
  }
};

struct CalibratorChoice {
  Calibrator chosen;
  std::vector<CalibratorScore> scores;  // in candidate order
};

// The rule above, on measured scores.
Calibrator choose_calibrator(const std::vector<CalibratorScore>& scores);

// `model`: the FP32 model insert_qdq will quantize (BN folded); copied, not
// changed. `calibration`: calibrate_each's, on the same images; its FP32
// outputs are the reference. Output 0 is compared; top-1 agreement needs it
// to be [N, classes].
Result<CalibratorChoice> select_calibrator(const Graph& model, const Calibration& calibration,
                                           const Dataset& dataset,
                                           const CalibrationOptions& options,
                                           const QuantizeOptions& layers);

}  // namespace qdq
