#include "calibration/quantize_model.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "calibration/cache.h"
#include "calibration/select_calibrator.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "passes/pass_manager.h"
#include "passes/pipeline.h"
#include "runtime/reference/executor.h"
#include "support/files.h"

namespace qdq {
Result<QuantizeModelReport> quantize_model(Graph& graph, const QuantizeModelOptions& options) {
  return catch_errors([&] {
    for (const Node* n : graph.nodes())
      check(n->op_type != "QuantizeLinear" && n->op_type != "DequantizeLinear",
            "the model is quantized already (it holds " + n->describe() +
                "): calibration is for FP32 models");
    // BN folded into the convs first: calibration sees the tensors the
    // quantized model will have.
    PassContext context;
    context.evaluate = evaluate_node;
    run_passes(graph, select_passes("", PipelineForm::kQdq), context);

    QuantizeModelReport report;
    const std::vector<std::string> tensors = tensors_to_calibrate(graph, options.layers);
    check(!tensors.empty(),
          "the model has no Conv, Gemm or MatMul with constant weights to quantize",
          ErrorKind::kUnsupported);
    const std::string fp32_model = export_onnx(graph);
    const uint64_t fingerprint = model_fingerprint(fp32_model);
    std::map<std::string, TensorRange> ranges;
    const bool cached = !options.cache_path.empty() && std::filesystem::exists(options.cache_path);
    if (options.placeholder_amax > 0.0f) {
      for (const auto& name : tensors)
        ranges[name] = {-options.placeholder_amax, options.placeholder_amax};
    } else if (cached) {
      CalibrationCache cache =
          parse_calibration_cache(read_file(options.cache_path), options.cache_path);
      check(cache.model == fingerprint, "calibration cache " + options.cache_path +
                                            " was made for another model (its fingerprint "
                                            "differs): delete it to calibrate again");
      for (const auto& name : tensors)
        check(cache.ranges.count(name) != 0,
              "calibration cache " + options.cache_path + " has no range for tensor '" + name +
                  "' (made with other --keepFirstLayer/--keepLastLayer flags?)");
      ranges = std::move(cache.ranges);
      report.calibrator = cache.calibrator;
      report.from_cache = true;
    } else {
      check(!options.calib_data.empty(),
            "calibration needs images: give --calibData=SPEC (or --calib=FILE of an earlier run)");
      const auto dataset = Dataset::open(options.calib_data, options.dataset);
      // The engine rewrites the graph it runs: calibrate a copy.
      auto copy = import_onnx_bytes(fp32_model, "");
      if (!copy.is_ok()) fail(copy.status().message(), ErrorKind::kInternal);
      const Calibrator asked = options.calibration.calibrator;
      const std::vector<Calibrator> candidates =
          asked == Calibrator::kAuto ? auto_candidates() : std::vector<Calibrator>{asked};
      auto calibrated =
          calibrate_each(copy->graph, tensors, *dataset, options.calibration, candidates);
      if (!calibrated.is_ok()) fail(calibrated.status().message(), calibrated.status().kind());
      Calibrator chosen = asked;
      if (asked == Calibrator::kAuto) {
        auto choice =
            select_calibrator(graph, *calibrated, *dataset, options.calibration, options.layers);
        if (!choice.is_ok()) fail(choice.status().message(), choice.status().kind());
        chosen = report.chosen = choice->chosen;
        report.scores = std::move(choice->scores);
      }
      ranges = std::move(calibrated->ranges.at(chosen));
      report.calibrator = (asked == Calibrator::kAuto ? "auto: " : "") +
                          calibrator_name(chosen, options.calibration) + " " +
                          std::to_string(options.calibration.images);
      if (!options.cache_path.empty()) {
        write_file_atomically(options.cache_path,
                              format_calibration_cache({fingerprint, report.calibrator, ranges}));
        report.wrote_cache = true;
      }
    }
    report.layers = insert_qdq(graph, ranges, options.layers);
    report.tensors = static_cast<int>(tensors.size());
    return report;
  });
}

}  // namespace qdq
