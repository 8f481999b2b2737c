#include "calibration/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>

#include "calibration/range.h"
#include "runtime/engine.h"
#include "support/status.h"

namespace qdq {
namespace {

struct Observed {
  float min = 0.0f, max = 0.0f;  // over every value seen, 0 included
  bool seen = false;
  std::unique_ptr<AbsHistogram> histogram;  // the second pass's
  float max_abs() const { return std::max(-min, max); }
};

float pick_amax(const Observed& o, Calibrator calibrator, const CalibrationOptions& options) {
  // The steps over [0, amax]: uint8's 255 for a nonnegative tensor; a signed
  // one spreads its 255 over both sides, about 127 for each.
  const int steps = o.min >= 0.0f ? 255 : 127;
  switch (calibrator) {
    case Calibrator::kMinMax:
      return o.max_abs();
    case Calibrator::kPercentile:
      return amax_percentile(*o.histogram, options.percentile);
    case Calibrator::kMse:
      return amax_lp(*o.histogram, steps, 2.0);
    case Calibrator::kLp:
      return amax_lp(*o.histogram, steps, options.lp_norm);
    case Calibrator::kAuto:
      fail("calibrate: kAuto is a choice among calibrators, not one", ErrorKind::kInternal);
    case Calibrator::kEntropy:
      break;
  }
  return amax_entropy(*o.histogram);
}

}  // namespace

std::vector<Tensor> run_calibration_pass(Engine& engine, const Graph& graph, const Dataset& dataset,
                                         const CalibrationOptions& options,
                                         const TensorObserver& observe, const char* stage,
                                         int64_t done_before, int64_t total) {
  const std::string input = graph.inputs().at(0)->name;
  const CalibrationBatches batches = calibration_batches(graph, dataset, options);
  const int64_t batch = batches.batch, images = batches.images;
  if (observe)
    engine.executor.set_observer([&](const Node& node, const std::vector<Tensor>& outs) {
      for (size_t i = 0; i < outs.size(); ++i)
        if (node.output(i)) observe(node.output(i)->name, outs[i]);
    });
  std::vector<Tensor> outputs;
  for (int64_t first = 0; first < images; first += batch) {
    ImageBatch b = dataset.load(first, std::min(batch, images - first));
    if (b.images.numel() == 0) continue;
    if (observe) observe(input, b.images);
    auto r = engine.executor.run({{input, b.images}});
    if (!r.is_ok()) fail(r.status().message(), r.status().kind());
    outputs.push_back(std::move(r->at(0)));
    if (options.progress)
      options.progress(stage, done_before + std::min(first + batch, images), total);
  }
  engine.executor.set_observer(nullptr);
  return outputs;
}

CalibrationBatches calibration_batches(const Graph& graph, const Dataset& dataset,
                                       const CalibrationOptions& options) {
  const Value* in = graph.inputs().at(0);
  CalibrationBatches b{options.batch, std::min(options.images, dataset.size())};
  if (in->shape && !in->shape->empty() && (*in->shape)[0].is_known()) {
    b.batch = (*in->shape)[0].size;
    if (b.images >= b.batch) b.images -= b.images % b.batch;  // whole batches
  }
  return b;
}

std::string calibrator_name(Calibrator calibrator, const CalibrationOptions& options) {
  char text[48];
  switch (calibrator) {
    case Calibrator::kMinMax:
      return "minmax";
    case Calibrator::kMse:
      return "mse";
    case Calibrator::kAuto:
      return "auto";
    case Calibrator::kPercentile:
      std::snprintf(text, sizeof text, "percentile %g", options.percentile);
      return text;
    case Calibrator::kLp:
      std::snprintf(text, sizeof text, "lp %g", options.lp_norm);
      return text;
    case Calibrator::kEntropy:
      break;
  }
  return "entropy";
}

// MinMax last: ONNX Runtime's quantize_static default, on the same uint8
// grid; among the candidates, auto never picks what its own measure ranks
// below ORT's rule.
const std::vector<Calibrator>& auto_candidates() {
  static const std::vector<Calibrator> candidates = {Calibrator::kMse, Calibrator::kLp,
                                                     Calibrator::kEntropy, Calibrator::kPercentile,
                                                     Calibrator::kMinMax};
  return candidates;
}

Result<TensorRanges> calibrate(Graph& graph, const std::vector<std::string>& tensors,
                               const Dataset& dataset, const CalibrationOptions& options) {
  auto each = calibrate_each(graph, tensors, dataset, options, {options.calibrator});
  if (!each.is_ok()) return each.status();
  return std::move(each->ranges.at(options.calibrator));
}

Result<Calibration> calibrate_each(Graph& graph, const std::vector<std::string>& tensors,
                                   const Dataset& dataset, const CalibrationOptions& options,
                                   const std::vector<Calibrator>& calibrators) {
  return catch_errors([&] {
    check(graph.inputs().size() == 1, "calibration needs a model with one image input",
          ErrorKind::kUnsupported);
    EngineOptions engine_options;
    engine_options.isa = best_isa();
    auto engine = build_engine(graph, engine_options);
    if (!engine.is_ok()) fail(engine.status().message(), engine.status().kind());
    const int64_t images = calibration_batches(graph, dataset, options).images;
    check(images > 0, "the calibration dataset holds no images");
    auto pass = [&](const TensorObserver& observe, int64_t done_before, int64_t total) {
      return run_calibration_pass(*engine, graph, dataset, options, observe, "calibrating",
                                  done_before, total);
    };

    std::map<std::string, Observed> observed;
    for (const auto& name : tensors) observed[name];
    const bool histograms = std::any_of(calibrators.begin(), calibrators.end(),
                                        [](Calibrator c) { return c != Calibrator::kMinMax; });
    const int64_t total = images * (histograms ? 2 : 1);
    Calibration result;
    result.outputs = pass(
        [&](const std::string& name, const Tensor& t) {
          auto it = observed.find(name);
          if (it == observed.end() || t.dtype() != DType::kFloat32) return;
          Observed& o = it->second;
          o.seen = true;
          for (int64_t i = 0; i < t.numel(); ++i) {
            const float v = t.data<float>()[i];
            if (std::isnan(v)) continue;
            o.min = std::min(o.min, v);
            o.max = std::max(o.max, v);
          }
        },
        0, total);
    for (const auto& [name, o] : observed)
      check(o.seen, "calibration did not see tensor '" + name + "': the model does not compute it",
            ErrorKind::kInternal);
    if (histograms) {
      for (auto& [name, o] : observed) o.histogram = std::make_unique<AbsHistogram>(o.max_abs());
      pass(
          [&](const std::string& name, const Tensor& t) {
            auto it = observed.find(name);
            if (it != observed.end() && t.dtype() == DType::kFloat32)
              it->second.histogram->add(t.data<float>(), t.numel());
          },
          images, total);
    }
    // The model's input keeps every value the images gave it, whatever the
    // calibrator: each is a preprocessed pixel, and clipping saturates image
    // content — a constant background is a spike that KL keeps resolution
    // for (Fashion-MNIST: entropy clipped the input at 0.66 of 2.35).
    const std::string& input = graph.inputs().front()->name;
    // A calibrator's |x| threshold clips both sides; a side that never reaches
    // it keeps its own extent, so a skewed signed tensor (the model input:
    // Fashion-MNIST's lies in [-0.66, 2.35]) spends no levels on values it
    // never takes.
    for (Calibrator c : calibrators)
      for (const auto& [name, o] : observed) {
        const float amax = name == input ? o.max_abs() : pick_amax(o, c, options);
        result.ranges[c][name] = {std::max(o.min, -amax), std::min(o.max, amax)};
      }
    return result;
  });
}

}  // namespace qdq
