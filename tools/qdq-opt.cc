// qdq-opt: rewrites an ONNX model with qdq's graph passes and writes a valid ONNX
// model computing the same function. Flags and output per CONTRACT.md.
#include <cstdio>
#include <iostream>
#include <map>

#include "calibration/quantize_model.h"
#include "cli/calibration_flags.h"
#include "cli/flags.h"
#include "cli/report.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "passes/fusion_explainer.h"
#include "passes/pass_manager.h"
#include "passes/pipeline.h"
#include "runtime/reference/executor.h"
#include "runtime/reference/registry.h"

namespace qdq {
namespace {

const std::vector<cli::FlagSpec> kFlags = cli::with_flags(
    {
        {"help", false, "print this help"},
        {"o", true, "output model (also --o=F)"},
        {"passes", true,
         "run only these passes, comma-separated (default: all, in pipeline order)"},
        {"skip-passes", true, "leave these passes out, comma-separated"},
        {"list-passes", false, "list the passes with their purpose, in pipeline order"},
        {"explain", false,
         "also list what qexec's INT8 engine would leave in float (or in a slow integer form) "
         "and why, and the share of multiply-adds in INT8"},
        {"report", true, "write what changed as JSON"},
        {"form", true,
         "qdq (default: standard Q/DQ form, cleaned and folded) or qoperator (QLinearConv, ...)"},
        {"quantize", false,
         "quantize an FP32 model: calibrate on --calibData (or read --calib), insert Q/DQ "
         "(per-channel int8 weights, 8-bit activations)"},
    },
    cli::calibration_flag_specs());

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (Node* n : g.nodes()) ++counts[n->domain.empty() ? n->op_type : n->domain + "." + n->op_type];
  return counts;
}

std::string counts_json(const std::map<std::string, int>& counts) {
  std::string s = "{";
  for (const auto& [op, n] : counts)
    s += (s.size() > 1 ? ", \"" : "\"") + cli::json_escape(op) + "\": " + std::to_string(n);
  return s + "}";
}

int run(int argc, char** argv) {
  const auto flags = cli::Flags::parse(argc, argv, kFlags);
  if (flags.has("help")) {
    std::cout << cli::usage_text("qdq-opt model.onnx -o out.onnx [options]", kFlags);
    return 0;
  }
  if (flags.has("list-passes")) {
    for (const auto& e : all_passes())
      std::cout << e.pass->name() << ": " << e.pass->purpose()
                << (e.first_form == PipelineForm::kQOperator ? " [qoperator form]"
                    : e.first_form == PipelineForm::kEngine  ? " [qexec only]"
                                                             : "")
                << "\n";
    return 0;
  }
  const std::string form = flags.get("form", "qdq");
  check(form == "qdq" || form == "qoperator",
        "--form must be qdq or qoperator, got '" + form + "'");
  check(flags.positional().size() == 1, "expected one input model (see --help)");
  check(flags.has("o"), "no output given: use -o out.onnx");
  const auto passes = select_passes(flags.get("passes"),
                                    form == "qdq" ? PipelineForm::kQdq : PipelineForm::kQOperator,
                                    flags.get("skip-passes"));

  auto imported = import_onnx_file(flags.positional()[0], runtime_import_options());
  if (!imported.is_ok()) return cli::report_error(imported.status());
  Graph& graph = imported->graph;
  const auto before = op_counts(graph);
  if (flags.has("quantize")) {
    const QuantizeModelOptions options = cli::parse_calibration_flags(flags);
    auto quantized = quantize_model(graph, options);
    if (!quantized.is_ok()) return cli::report_error(quantized.status());
    std::cout << "quantize: " << quantized->layers << " layers, " << quantized->tensors
              << " activation tensors, ranges from "
              << (quantized->from_cache ? "the cache " + options.cache_path
                                        : "calibration on " + options.calib_data)
              << (quantized->wrote_cache ? ", cache written to " + options.cache_path : "") << "\n";
    for (const CalibratorScore& s : quantized->scores) {
      char line[200];
      std::snprintf(line, sizeof line,
                    "quantize: %-16s top-1 differs from FP32's on %lld of %lld calibration "
                    "images, output MSE %.4g%s\n",
                    calibrator_name(s.calibrator, options.calibration).c_str(),
                    static_cast<long long>(s.disagreements), static_cast<long long>(s.images),
                    s.output_mse, s.calibrator == quantized->chosen ? "  <- chosen" : "");
      std::cout << line;
    }
  } else {
    for (const auto& spec : cli::calibration_flag_specs())
      check(!flags.has(spec.name), "--" + spec.name + " belongs to --quantize");
  }
  PassContext context;
  context.evaluate = evaluate_node;
  const PipelineReport report = run_passes(graph, passes, context);
  const auto after = op_counts(graph);
  const std::string bytes = export_onnx(graph);
  cli::write_file_atomically(flags.get("o"), bytes);

  for (const auto& w : context.warnings) std::cerr << "warning: " << w << "\n";
  for (const auto& p : report.passes) std::cout << p.name << ": " << p.changes << " changes\n";
  std::map<std::string, int> all = before;
  for (const auto& [op, n] : after) all.emplace(op, 0);
  size_t width = 24;  // the op column: wide enough for domain-qualified names
  for (const auto& [op, unused] : all) width = std::max(width, op.size() + 2);
  auto padded = [width](std::string text) { return text.append(width - text.size(), ' '); };
  std::cout << "rounds: " << report.rounds << "\n\n" << padded("op") << "before  after\n";
  int total_before = 0, total_after = 0;
  for (const auto& [op, unused] : all) {
    const int b = before.count(op) ? before.at(op) : 0, a = after.count(op) ? after.at(op) : 0;
    total_before += b;
    total_after += a;
    std::cout << padded(op) << std::to_string(b)
              << std::string(8 - std::min<size_t>(7, std::to_string(b).size()), ' ') << a << "\n";
  }
  std::cout << padded("total") << total_before << " -> " << total_after << " nodes; wrote "
            << flags.get("o") << "\n";

  if (flags.has("explain")) {
    // The engine's own passes on top of what was written (the same selection),
    // then the explainer on what the engine would run.
    PassContext engine_context;
    engine_context.evaluate = evaluate_node;
    engine_context.form = PipelineForm::kEngine;
    run_passes(graph,
               select_passes(flags.get("passes"), PipelineForm::kEngine, flags.get("skip-passes")),
               engine_context);
    const FusionExplanation e = explain_fusion(graph, per_image_shape);
    std::cout << "\n=== What qexec --int8 would run in float, and why ===\n";
    for (const auto& note : e.notes)
      std::cout << (is_integer_layer(*note.node) ? "slow int8 " : "float ") << note.node->describe()
                << ": " << note.reason << "\n";
    std::cout << cli::fusion_summary(e) << " (per image)\n";
  }

  if (flags.has("report")) {
    std::string json = "{\n  \"passes\": [";
    for (size_t i = 0; i < report.passes.size(); ++i)
      json += std::string(i ? ", " : "") + "{\"name\": \"" + report.passes[i].name +
              "\", \"changes\": " + std::to_string(report.passes[i].changes) + "}";
    json += "],\n  \"rounds\": " + std::to_string(report.rounds) +
            ",\n  \"before\": " + counts_json(before) + ",\n  \"after\": " + counts_json(after) +
            ",\n  \"warnings\": [";
    for (size_t i = 0; i < context.warnings.size(); ++i)
      json += std::string(i ? ", " : "") + "\"" + cli::json_escape(context.warnings[i]) + "\"";
    cli::write_file_atomically(flags.get("report"), json + "]\n}\n");
  }
  return 0;
}

}  // namespace
}  // namespace qdq

int main(int argc, char** argv) {
  return qdq::cli::run_tool([&] { return qdq::run(argc, argv); });
}
