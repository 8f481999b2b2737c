// Calibration: run an FP32 model over real images and pick a quantization
// range for each of the named tensors (calibration/range.h's calibrators).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "graph/graph.h"
#include "support/status.h"

namespace qdq {

enum class Calibrator { kMinMax, kEntropy, kPercentile, kMse };

struct CalibrationOptions {
  // MSE by default: within 0.1 of FP32 on every trained model in models/.
  // Entropy (KL) locks onto any spike of the |x| histogram, and a constant
  // image background is one (Fashion-MNIST ResNet-20: 94.32 FP32 -> 84.25
  // INT8, the input itself kept whole); it is the one that holds up on an
  // undertrained ResNet-50 whose activations have wide tails (80.90 -> 76.90,
  // MSE 9.65), see models/README.md.
  Calibrator calibrator = Calibrator::kMse;
  double percentile = 99.99;  // kPercentile's share of |x| kept
  int64_t images = 512;       // the dataset's first ones
  int64_t batch = 32;         // for models whose batch dim is not fixed
  // Called after each batch: images seen so far over both passes, and the total.
  std::function<void(int64_t done, int64_t total)> progress;
};

struct TensorRange {
  float amax = 0.0f;         // the range is [-amax, amax], or [0, amax] when nonnegative
  bool nonnegative = false;  // no negative value was seen (a ReLU's output)
};

// Builds `graph`'s FP32 engine (rewriting `graph`: pass a copy) and runs it
// twice over the images: once for each tensor's largest |x|, once for its |x|
// histogram on that range (MinMax needs only the first). Fails when a tensor
// is neither a graph input nor produced by a layer of the engine.
Result<std::map<std::string, TensorRange>> calibrate(Graph& graph,
                                                     const std::vector<std::string>& tensors,
                                                     const Dataset& dataset,
                                                     const CalibrationOptions& options);

}  // namespace qdq
