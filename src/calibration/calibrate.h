// Calibration: run an FP32 model over real images and pick a quantization
// range for each of the named tensors (calibration/range.h's calibrators).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "graph/graph.h"
#include "runtime/engine.h"
#include "support/status.h"

namespace qdq {

enum class Calibrator { kMinMax, kEntropy, kPercentile, kMse, kLp, kAuto };

struct CalibrationOptions {
  // Auto by default (calibration/select_calibrator.h): no one rule of range
  // holds up on every model. MSE is within 0.2 of FP32 on every trained
  // model in models/ but keeps the wide tails of an undertrained ResNet-50
  // and collapses there (80.90 -> 9.45); Lp 0.5 clips them (81.90) but
  // costs MobileNetV2 1.7 points and the CIFAR-10 ResNets 4; entropy (KL) locks onto
  // any spike of the |x| histogram, and a constant image background is one
  // (Fashion-MNIST ResNet-20: 94.32 -> 84.25). See models/README.md.
  Calibrator calibrator = Calibrator::kAuto;
  double percentile = 99.99;  // kPercentile's share of |x| kept
  double lp_norm = 0.5;       // kLp's p
  int64_t images = 512;       // the dataset's first ones
  int64_t batch = 32;         // for models whose batch dim is not fixed
  // Called after each batch: the stage ("calibrating", ...), the images it
  // has seen so far over its passes, and its total.
  std::function<void(const char* stage, int64_t done, int64_t total)> progress;
};

// The interval a tensor is quantized over; min <= 0 <= max, as QuantizeLinear
// needs zero on its grid.
struct TensorRange {
  float min = 0.0f, max = 0.0f;  // min == 0: never negative (a ReLU's output)
};

using TensorRanges = std::map<std::string, TensorRange>;

// How the images go through the model: the batch (the model's, when its
// batch dim is fixed) and how many, whole batches for a fixed batch dim.
struct CalibrationBatches {
  int64_t batch, images;
};
CalibrationBatches calibration_batches(const Graph& graph, const Dataset& dataset,
                                       const CalibrationOptions& options);

// One run of `engine` (built from `graph`) over the images, in
// calibration_batches' batches: `observe`, when set, sees the model input and
// every node output; progress reports `stage`, done_before + the images so
// far, and total. Returns the model's output 0 of each batch.
using TensorObserver = std::function<void(const std::string& name, const Tensor& value)>;
std::vector<Tensor> run_calibration_pass(Engine& engine, const Graph& graph, const Dataset& dataset,
                                         const CalibrationOptions& options,
                                         const TensorObserver& observe, const char* stage,
                                         int64_t done_before, int64_t total);

// "entropy", "percentile 99.99", "lp 0.5": how caches and reports name it.
std::string calibrator_name(Calibrator calibrator, const CalibrationOptions& options);

// The calibrators kAuto chooses from.
const std::vector<Calibrator>& auto_candidates();

struct Calibration {
  std::map<Calibrator, TensorRanges> ranges;  // per calibrator asked for
  std::vector<Tensor> outputs;  // the FP32 model's output 0, batch by batch (calibration_batches)
};

// Builds `graph`'s FP32 engine (rewriting `graph`: pass a copy) and runs it
// twice over the images: once for each tensor's largest |x| (keeping the
// model's output), once for its |x| histogram on that range (MinMax needs
// only the first). Picks the ranges of each of `calibrators` (not kAuto)
// from the same observations. Fails when a tensor is neither a graph input
// nor produced by a layer of the engine.
Result<Calibration> calibrate_each(Graph& graph, const std::vector<std::string>& tensors,
                                   const Dataset& dataset, const CalibrationOptions& options,
                                   const std::vector<Calibrator>& calibrators);
// The same for options.calibrator alone (not kAuto).
Result<TensorRanges> calibrate(Graph& graph, const std::vector<std::string>& tensors,
                               const Dataset& dataset, const CalibrationOptions& options);

}  // namespace qdq
