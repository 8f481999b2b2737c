#include "calibration/select_calibrator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "runtime/engine.h"

namespace qdq {
namespace {

// Runs the INT8 engine of `model_bytes` quantized with `ranges` over the
// calibration images; returns output 0 of each batch.
std::vector<Tensor> run_outputs(const std::string& model_bytes, const TensorRanges& ranges,
                                const QuantizeOptions& layers, const Dataset& dataset,
                                const CalibrationOptions& options, int64_t done_before,
                                int64_t total) {
  auto imported = import_onnx_bytes(model_bytes, "");
  if (!imported.is_ok()) fail(imported.status().message(), ErrorKind::kInternal);
  Graph& graph = imported->graph;
  insert_qdq(graph, ranges, layers);
  EngineOptions engine_options;
  engine_options.isa = best_isa();
  engine_options.int8 = true;
  auto engine = build_engine(graph, engine_options);
  if (!engine.is_ok()) fail(engine.status().message(), engine.status().kind());
  return run_calibration_pass(*engine, graph, dataset, options, nullptr, "choosing the calibrator",
                              done_before, total);
}

int64_t argmax_row(const float* row, int64_t n) { return std::max_element(row, row + n) - row; }

CalibratorScore score(Calibrator c, const std::vector<Tensor>& want,
                      const std::vector<Tensor>& got) {
  check(want.size() == got.size(),
        "calibrator choice: the FP32 outputs do not match the calibration images",
        ErrorKind::kInternal);
  CalibratorScore s{c};
  int64_t elements = 0;
  for (size_t b = 0; b < want.size(); ++b) {
    const Tensor &w = want[b], &g = got[b];
    check(w.dtype() == DType::kFloat32 && g.dtype() == DType::kFloat32 && w.numel() == g.numel(),
          "calibrator choice: the quantized model's output differs in type or size",
          ErrorKind::kInternal);
    for (int64_t i = 0; i < w.numel(); ++i) {
      const double d = static_cast<double>(g.data<float>()[i]) - w.data<float>()[i];
      s.output_mse += d * d;
    }
    elements += w.numel();
    if (w.rank() != 2) continue;
    const int64_t classes = w.dim(1);
    for (int64_t r = 0; r < w.dim(0); ++r, ++s.images)
      s.disagreements += argmax_row(w.data<float>() + r * classes, classes) !=
                         argmax_row(g.data<float>() + r * classes, classes);
  }
  s.output_mse /= static_cast<double>(std::max<int64_t>(elements, 1));
  return s;
}

}  // namespace

Calibrator choose_calibrator(const std::vector<CalibratorScore>& scores) {
  int64_t fewest = std::numeric_limits<int64_t>::max();
  for (const CalibratorScore& s : scores) fewest = std::min(fewest, s.disagreements);
  const double noise = std::max(1.0, 2.0 * std::sqrt(static_cast<double>(fewest)));
  // Candidates in auto_candidates() order: the first of equals wins.
  const CalibratorScore* best = nullptr;
  for (Calibrator c : auto_candidates())
    for (const CalibratorScore& s : scores)
      if (s.calibrator == c && static_cast<double>(s.disagreements - fewest) <= noise &&
          (!best || s.output_mse < best->output_mse))
        best = &s;
  check(best != nullptr, "calibrator choice: no candidate of auto's", ErrorKind::kInternal);
  return best->calibrator;
}

Result<CalibratorChoice> select_calibrator(const Graph& model, const Calibration& calibration,
                                           const Dataset& dataset,
                                           const CalibrationOptions& options,
                                           const QuantizeOptions& layers) {
  return catch_errors([&] {
    const std::map<Calibrator, TensorRanges>& candidates = calibration.ranges;
    check(!candidates.empty(), "calibrator choice: no candidates", ErrorKind::kInternal);
    const int64_t images = calibration_batches(model, dataset, options).images;
    const int64_t total = images * static_cast<int64_t>(candidates.size());
    const std::string bytes = export_onnx(model);
    CalibratorChoice choice{candidates.begin()->first, {}};
    for (const auto& [calibrator, ranges] : candidates) {
      const int64_t done_before = images * static_cast<int64_t>(choice.scores.size());
      choice.scores.push_back(
          score(calibrator, calibration.outputs,
                run_outputs(bytes, ranges, layers, dataset, options, done_before, total)));
    }
    choice.chosen = choose_calibrator(choice.scores);
    return choice;
  });
}

}  // namespace qdq
