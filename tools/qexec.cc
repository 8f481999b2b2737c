// qexec: the trtexec of qdq. Loads a model, builds an engine, runs and times it.
// Flags and output lines are fixed by CONTRACT.md.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "calibration/quantize_model.h"
#include "cli/calibration_flags.h"
#include "cli/flags.h"
#include "cli/report.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "passes/fusion_explainer.h"
#include "runtime/best_precision.h"
#include "runtime/engine.h"
#include "runtime/inputs.h"
#include "runtime/layer_comparison.h"
#include "runtime/output_check.h"
#include "runtime/plan.h"
#include "runtime/reference/registry.h"
#include "runtime/timing.h"

namespace qdq {
namespace {

const std::vector<cli::FlagSpec> kFlags = cli::with_flags(
    {
        {"help", false, "print this help"},
        {"onnx", true, "ONNX model to build from (QDQ or plain FP32)"},
        {"int8", false,
         "INT8 engine: Q/DQ groups lowered to exact integer kernels (QDQ models; FP32 models are "
         "quantized first, calibrated on --calibData or --calib)"},
        {"best", false,
         "every precision allowed: builds the INT8 and FP32 engines, times each layer of both, "
         "keeps in FP32 the quantized layers that ran faster there, and runs the fastest engine "
         "so made"},
        {"saveEngine", true, "write the built engine as a plan file"},
        {"loadEngine", true, "run a plan file written by --saveEngine (instead of --onnx)"},
        {"minShapes", true, "smallest input shapes a plan accepts, e.g. input:1x3x32x32"},
        {"optShapes", true, "shapes the plan is prepared and timed for (as --shapes)"},
        {"maxShapes", true, "largest input shapes a plan accepts"},
        {"maxWeightMB", true, "refuse models whose weights claim more (default 4096)"},
        {"maxActivationMB", true,
         "refuse runs that would hold more activation memory (default 8192)"},
        {"dumpProfile", false, "print per-layer times of the timed runs"},
        {"exportProfile", true, "write per-layer times of the timed runs as JSON"},
        {"shapes", true, "input shapes, e.g. input:1x3x224x224[,other:...]"},
        {"batch", true, "batch dimension of every input"},
        {"threads", true, "worker threads (default: all cores)"},
        {"iterations", true, "run at least N timed iterations (default 10)"},
        {"warmUp", true, "warm up for at least MS milliseconds (default 200)"},
        {"duration", true, "time for at least S seconds (default 3)"},
        {"avgRuns", true, "average --verbose progress lines over N runs (default 10)"},
        {"percentile", true, "latency percentiles to report (default 90,95,99)"},
        {"loadInputs", true, "raw little-endian inputs: name:file.bin[,name2:file2.bin]"},
        {"exportOutput", true, "write output tensors as JSON"},
        {"exportTimes", true, "write per-iteration latencies as JSON"},
        {"skipInference", false, "build only"},
        {"verbose", false,
         "build log: passes, layers and their kernels, the layers left in float and why"},
        {"compareLayers", true,
         "run this reference model (the FP32 model, or the same file for its Q/DQ reference "
         "semantics) on the same inputs; print SQNR, cosine and max error per tensor, worst "
         "first"},
        {"exportLayers", true, "with --compareLayers: write the per-tensor figures as JSON"},
        {"noFp32Compare", false,
         "--int8: skip timing the FP32 engine of the same model after the INT8 timing (and the "
         "warning when INT8 is not faster)"},
        {"loadRefOutputs", true,
         "accuracy gate: reference outputs as --exportOutput writes them; exit 1 when an "
         "output misses (see --accuracyAlgorithm)"},
        {"accuracyAlgorithm", true,
         "linf (default): max |a-r| - rtol|r| <= atol; l1: mean |a-r| <= atol + rtol mean|r|; "
         "l2: rms(a-r) <= atol + rtol rms(r); cos: 1 - cosine <= atol"},
        {"atol", true, "absolute tolerance of the accuracy gate (default 1e-5)"},
        {"rtol", true, "relative tolerance of the accuracy gate (default 1e-5)"},
    },
    cli::calibration_flag_specs());

// Q/DQ or QLinear nodes: a quantized model (explicit quantization).
bool has_quantization(const Graph& graph) {
  for (const Node* n : graph.nodes())
    if (n->op_type == "QuantizeLinear" || n->op_type.rfind("QLinear", 0) == 0) return true;
  return false;
}

std::string mb(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(bytes) / 1e6);
  return buf;
}

std::string ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// trtexec's --dumpProfile table and --exportProfile JSON: average time per run.
void report_profile(const Engine& engine, const cli::Flags& flags) {
  const auto layers = engine.executor.profile();
  const double runs = static_cast<double>(std::max<int64_t>(1, engine.executor.profiled_runs()));
  double total = 0;
  for (const auto& l : layers) total += l.total_ms / runs;
  auto precision = [](const Node& n) { return is_integer_layer(n) ? "int8" : "fp32"; };
  if (flags.has("dumpProfile")) {
    std::printf("=== Profile (%lld iterations) ===\n", static_cast<long long>(runs));
    std::printf("%10s %8s  %-13s %-16s %-5s %s\n", "Avg.(ms)", "Time(%)", "kernel", "epilogue",
                "prec", "Layer");
    for (const auto& l : layers) {
      // The kernel's level, and its algorithm where not the direct one: "avx2+winograd".
      const std::string kernel = std::string(isa_name(l.ran.isa)) +
                                 (l.ran.algorithm ? std::string("+") + l.ran.algorithm : "");
      std::printf("%10.4f %8.2f  %-13s %-16s %-5s %s\n", l.total_ms / runs,
                  total > 0 ? 100.0 * l.total_ms / runs / total : 0.0, kernel.c_str(),
                  l.ran.form ? l.ran.form : "-", precision(*l.node), l.node->describe().c_str());
    }
    std::printf("%10.4f %8.2f  total\n", total, 100.0);
  }
  if (flags.has("exportProfile")) {
    std::string json = "[";
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      json += std::string(i ? ",\n " : "\n ") + "{\"name\": " + "\"" +
              cli::json_escape(l.node->name) + "\"" + ", \"op\": " + "\"" +
              cli::json_escape(l.node->op_type) + "\"" + ", \"precision\": \"" +
              precision(*l.node) + "\", \"kernel\": \"" + isa_name(l.ran.isa) +
              (l.ran.form ? std::string("\", \"epilogue\": \"") + l.ran.form : std::string()) +
              (l.ran.algorithm ? std::string("\", \"algorithm\": \"") + l.ran.algorithm
                               : std::string()) +
              "\", \"timeMs\": " + cli::json_number(l.total_ms / runs) + ", \"percentage\": " +
              cli::json_number(total > 0 ? 100.0 * l.total_ms / runs / total : 0.0) + "}";
    }
    cli::write_file_atomically(flags.get("exportProfile"), json + "\n]\n");
  }
}

// --verbose on an INT8 engine: the layers left in float (or in a slow integer
// form) and why, and the share of multiply-adds in integers.
void print_fusion_explanation(const Graph& graph, const ShapeLookup& shape_of) {
  const FusionExplanation e = explain_fusion(graph, shape_of);
  for (const auto& note : e.notes)
    std::cout << "[I] " << (is_integer_layer(*note.node) ? "slow int8 " : "float ")
              << note.node->describe() << ": " << note.reason << "\n";
  std::cout << "[I] " << cli::fusion_summary(e) << "\n";
}

// --compareLayers: the reference model run on the same inputs, every tensor
// both runs have measured, worst first; --exportLayers in execution order.
void compare_layers(const TensorRecorder& engine_run,
                    const std::map<std::string, std::string>& quantized_sources,
                    const std::map<std::string, Tensor>& inputs, Isa isa, const cli::Flags& flags) {
  const std::string path = flags.get("compareLayers");
  auto imported = import_onnx_file(path, runtime_import_options());
  if (!imported.is_ok()) throw Error(imported.status().message(), imported.status().kind());
  const Graph& reference = imported->graph;
  for (const Value* v : reference.inputs())
    check(inputs.count(v->name) != 0, "--compareLayers: the reference " + path + " has input '" +
                                          v->name + "', which the engine's model does not have");
  ExecutorOptions options;
  options.isa = isa;
  auto executor = ReferenceExecutor::create(reference, options);
  if (!executor.is_ok()) throw Error(executor.status().message(), executor.status().kind());
  TensorRecorder reference_run;
  executor->set_observer(reference_run.observer());
  if (auto r = executor->run(inputs); !r.is_ok())
    throw Error("--compareLayers: running " + path + ": " + r.status().message(),
                r.status().kind());
  const auto diffs =
      compare_tensors(engine_run.tensors(), reference_run.tensors(), quantized_sources);
  check(!diffs.empty(),
        "--compareLayers: no tensor of " + path + " matches one of the engine's by name or shape");
  auto worst_first = diffs;
  std::stable_sort(worst_first.begin(), worst_first.end(),
                   [](const auto& a, const auto& b) { return a.sqnr_db < b.sqnr_db; });
  std::printf("=== Layer comparison: engine vs %s (%zu tensors, worst first) ===\n", path.c_str(),
              diffs.size());
  std::printf("%9s %9s %11s  %s\n", "SQNR(dB)", "cosine", "max|err|", "tensor (engine layer)");
  for (const auto& d : worst_first)
    std::printf("%9.2f %9.6f %11.4g  %s (%s)\n", d.sqnr_db, d.cosine, d.max_abs_error,
                d.tensor.c_str(), d.layer->describe().c_str());
  if (flags.has("exportLayers")) {
    std::string json = "[";
    for (size_t i = 0; i < diffs.size(); ++i) {
      const auto& d = diffs[i];
      json += std::string(i ? ",\n " : "\n ") + "{\"tensor\": \"" + cli::json_escape(d.tensor) +
              "\", \"layer\": \"" + cli::json_escape(d.layer->name) + "\", \"op\": \"" +
              cli::json_escape(d.layer->op_type) + "\", \"precision\": \"" +
              (is_integer_layer(*d.layer) ? "int8" : "fp32") +
              "\", \"elements\": " + std::to_string(d.elements) +
              ", \"sqnrDb\": " + cli::json_number(d.sqnr_db) +
              ", \"cosine\": " + cli::json_number(d.cosine) +
              ", \"maxAbsError\": " + cli::json_number(d.max_abs_error) + "}";
    }
    cli::write_file_atomically(flags.get("exportLayers"), json + "\n]\n");
  }
}

// The accuracy gate: every output against its reference; one line each, then
// an error (exit 1) naming the first that misses.
void check_accuracy(const Graph& graph, const std::vector<Tensor>& outputs,
                    const cli::Flags& flags) {
  const std::string path = flags.get("loadRefOutputs");
  const auto algorithm = parse_accuracy_algorithm(flags.get("accuracyAlgorithm", "linf"));
  check(algorithm.has_value(), "--accuracyAlgorithm must be linf, l1, l2 or cos, got '" +
                                   flags.get("accuracyAlgorithm") + "'");
  const double atol = flags.get_double("atol", 1e-5), rtol = flags.get_double("rtol", 1e-5);
  check(atol >= 0 && rtol >= 0, "--atol and --rtol must be non-negative");
  const auto reference = cli::tensors_from_json(read_file(path), path);
  std::printf("=== Accuracy check: %s, atol = %g, rtol = %g, against %s ===\n",
              accuracy_algorithm_name(*algorithm), atol, rtol, path.c_str());
  std::string first_miss;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = graph.outputs()[i]->name;
    const auto r = reference.find(name);
    check(r != reference.end(), path + " has no output '" + name + "'");
    check(r->second.shape == outputs[i].shape(),
          path + ": output '" + name + "' has shape " + shape_to_string(r->second.shape) +
              ", the engine's " + shape_to_string(outputs[i].shape()));
    const std::vector<float> actual = outputs[i].to_float_vector();
    const OutputCheck c = check_output(actual, r->second.data, *algorithm, atol, rtol);
    std::printf("output '%s': %s error %.6g, limit %.6g: %s\n", name.c_str(),
                accuracy_algorithm_name(*algorithm), c.error, c.limit, c.passed ? "PASS" : "FAIL");
    if (!c.passed && first_miss.empty()) {
      char buf[96];
      std::snprintf(buf, sizeof buf, " error %.6g > limit %.6g", c.error, c.limit);
      first_miss = "output '" + name + "' " + accuracy_algorithm_name(*algorithm) + buf;
    }
  }
  check(first_miss.empty(), "accuracy check failed against " + path + ": " + first_miss);
  std::printf("Accuracy check: PASSED\n");
}

int run(int argc, char** argv) {
  const auto flags = cli::Flags::parse(argc, argv, kFlags);
  if (flags.has("help")) {
    std::cout << cli::usage_text("qexec --onnx=model.onnx [options]", kFlags);
    return 0;
  }
  check(flags.positional().empty(), "unexpected argument '" +
                                        (flags.positional().empty() ? "" : flags.positional()[0]) +
                                        "' (flags take the form --name=value)");
  const bool from_plan = flags.has("loadEngine");
  check(from_plan != flags.has("onnx"),
        from_plan
            ? "give --onnx or --loadEngine, not both"
            : "no model given: use --onnx=model.onnx or --loadEngine=model.plan (see --help)");
  check(!(from_plan && (flags.has("int8") || flags.has("best") || flags.has("saveEngine") ||
                        flags.has("minShapes") || flags.has("maxShapes"))),
        "--int8, --best, --saveEngine and --minShapes/--maxShapes are build flags: a loaded plan "
        "keeps what it was built with");
  const bool best = flags.has("best");
  // --best allows INT8 too: an FP32 model is quantized as for --int8.
  const bool int8_requested = flags.has("int8") || best;
  check(!(flags.has("shapes") && flags.has("optShapes")), "give --shapes or --optShapes, not both");
  const auto& calibration_flags = cli::calibration_flag_specs();
  const bool calibrating = std::any_of(calibration_flags.begin(), calibration_flags.end(),
                                       [&](const cli::FlagSpec& f) { return flags.has(f.name); });
  check(!calibrating || (!from_plan && int8_requested),
        "--calibData, --calib and the other calibration flags go with --onnx=FP32 model --int8");
  const bool verbose = flags.has("verbose");

  const int threads = static_cast<int>(flags.get_int("threads", omp_get_num_procs()));
  check(threads >= 1 && threads <= 1024, "--threads must be between 1 and 1024");
  omp_set_num_threads(threads);

  using Clock = std::chrono::steady_clock;
  auto elapsed_ms = [](Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
  };
  const auto shape_overrides = parse_shapes_spec(flags.get("optShapes", flags.get("shapes")));
  const int64_t batch = flags.get_int("batch", 0);
  const int64_t max_weight_mb = flags.get_int("maxWeightMB", 4096);
  const int64_t max_activation_mb = flags.get_int("maxActivationMB", 8192);
  check(max_weight_mb >= 1 && max_activation_mb >= 1 && max_weight_mb <= (int64_t{1} << 30) &&
            max_activation_mb <= (int64_t{1} << 30),
        "--maxWeightMB and --maxActivationMB must be positive");
  const size_t max_activation_bytes = static_cast<size_t>(max_activation_mb) << 20;
  TimingOptions timing;
  timing.warm_up_ms = flags.get_double("warmUp", timing.warm_up_ms);
  timing.min_iterations = flags.get_int("iterations", timing.min_iterations);
  timing.min_duration_s = flags.get_double("duration", timing.min_duration_s);
  check(timing.warm_up_ms >= 0 && timing.min_iterations >= 1 && timing.min_duration_s >= 0,
        "--warmUp, --iterations and --duration must be non-negative (iterations at least 1)");
  ImportOptions import_options = runtime_import_options();
  import_options.max_weight_bytes = static_cast<size_t>(max_weight_mb) << 20;
  std::unique_ptr<Graph> graph;
  std::map<std::string, std::string> quantized_sources;  // of the model as imported
  std::optional<Engine> built;
  std::map<std::string, Shape> shapes;
  double load_ms = 0, build_ms = 0;
  const auto load_start = Clock::now();
  if (from_plan) {
    auto plan = load_plan(flags.get("loadEngine"), selected_isa(), max_activation_bytes);
    if (!plan.is_ok()) return cli::report_error(plan.status());
    load_ms = elapsed_ms(load_start);
    for (const auto& w : plan->warnings) std::cerr << "warning: " << w << "\n";
    if (verbose)
      std::cout << "[I] plan " << flags.get("loadEngine") << ": made by " << plan->producer
                << ", built for " << isa_name(plan->built_isa) << "\n";
    graph = std::move(plan->graph);
    built.emplace(std::move(plan->engine));
    // The plan's opt shapes, unless --shapes/--batch say otherwise.
    std::map<std::string, Shape> wanted = plan->opt_shapes;
    for (const auto& [name, shape] : shape_overrides) wanted[name] = shape;
    for (auto& [name, shape] : wanted)
      if (batch > 0 && !shape.empty() && !shape_overrides.count(name)) shape[0] = batch;
    shapes = resolve_input_shapes(*graph, wanted, 0);
  } else {
    auto imported = import_onnx_file(flags.get("onnx"), import_options);
    if (!imported.is_ok()) return cli::report_error(imported.status());
    load_ms = elapsed_ms(load_start);
    for (const auto& w : imported->warnings)
      if (verbose) std::cout << "[I] " << w << "\n";
    graph = std::make_unique<Graph>(std::move(imported->graph));
    if (flags.has("compareLayers")) quantized_sources = quantized_tensor_sources(*graph);
    shapes = resolve_input_shapes(*graph, shape_overrides, batch);
  }

  std::map<std::string, std::string> input_files;
  if (flags.has("loadInputs"))
    for (const std::string& item : cli::split(flags.get("loadInputs"), ',')) {
      const size_t colon = item.find(':');
      check(colon != std::string::npos,
            "--loadInputs item '" + item + "' must look like name:file.bin");
      const std::string name = item.substr(0, colon);
      check(shapes.count(name) != 0,
            "--loadInputs names '" + name + "', which is not an input of the model");
      input_files[name] = item.substr(colon + 1);
    }
  std::map<std::string, Tensor> inputs;
  uint32_t seed = 1;
  for (const Value* v : graph->inputs()) {
    const Shape& shape = shapes.at(v->name);
    auto file = input_files.find(v->name);
    inputs[v->name] = file != input_files.end() ? load_raw_tensor(file->second, v->dtype, shape)
                                                : random_tensor(v->dtype, shape, seed++);
    if (verbose)
      std::cout << "[I] input '" << v->name << "' " << shape_to_string(shape) << " "
                << dtype_name(v->dtype)
                << (file != input_files.end() ? " from " + file->second : " random") << "\n";
  }

  // Fresh copies of the model for engines built beside this one (--best, and
  // the FP32 engine an INT8 one is timed against).
  ModelSource float_model = [&]() -> Graph {
    auto again = import_onnx_file(flags.get("onnx"), import_options);
    if (!again.is_ok()) throw Error(again.status().message(), again.status().kind());
    return std::move(again->graph);
  };
  ModelSource quantized_model = float_model;
  TimingOptions side_timing{std::min(timing.warm_up_ms, 100.0),
                            std::min<int64_t>(timing.min_iterations, 10),
                            std::min(timing.min_duration_s, 0.5)};
  if (!from_plan) {
    const auto build_start = Clock::now();
    if (int8_requested && !has_quantization(*graph)) {
      QuantizeModelOptions quantize = cli::parse_calibration_flags(flags);
      if (quantize.calib_data.empty() && quantize.cache_path.empty()) {
        quantize.placeholder_amax = 4.0f;
        std::cerr << "warning: --int8 on an FP32 model without --calibData or --calib: placeholder "
                     "ranges [-4, 4] for every activation; the timing holds, the accuracy is "
                     "meaningless\n";
      }
      auto quantized = quantize_model(*graph, quantize);
      if (!quantized.is_ok()) return cli::report_error(quantized.status());
      if (verbose)
        std::cout << "[I] quantized " << quantized->layers << " layers, ranges from "
                  << (quantize.placeholder_amax > 0 ? std::string("placeholders")
                      : quantized->from_cache       ? "the cache " + quantize.cache_path
                                                    : "calibration on " + quantize.calib_data)
                  << (quantized->calibrator.empty() ? "" : " (" + quantized->calibrator + ")")
                  << "\n";
      if (best)
        quantized_model = [bytes = export_onnx(*graph), &import_options]() -> Graph {
          auto again = import_onnx_bytes(bytes, {}, import_options);
          if (!again.is_ok()) throw Error(again.status().message(), again.status().kind());
          return std::move(again->graph);
        };
    } else {
      check(!calibrating,
            "the model is quantized already: --calibData, --calib and the other "
            "calibration flags are for FP32 models");
    }
    EngineOptions options;
    options.int8 = flags.has("int8");
    options.isa = selected_isa();
    options.input_ranges = resolve_shape_ranges(parse_shapes_spec(flags.get("minShapes")),
                                                parse_shapes_spec(flags.get("maxShapes")), shapes);
    options.max_activation_bytes = max_activation_bytes;
    if (best) {
      auto chosen = build_best_engine(quantized_model, float_model, options, inputs, side_timing);
      if (!chosen.is_ok()) return cli::report_error(chosen.status());
      if (verbose)
        for (const auto& line : chosen->log) std::cout << "[I] --best: " << line << "\n";
      std::cout << "[I] --best chose the " << chosen->precision << " engine"
                << (chosen->float_layers.empty()
                        ? std::string()
                        : " (" + std::to_string(chosen->float_layers.size()) +
                              " quantized layers in FP32)")
                << "\n";
      graph = std::move(chosen->chosen.graph);
      built.emplace(std::move(chosen->chosen.engine));
    } else {
      auto engine = build_engine(*graph, options);
      if (!engine.is_ok()) return cli::report_error(engine.status());
      built.emplace(std::move(engine.value()));
    }
    for (const auto& w : built->warnings) std::cerr << "warning: " << w << "\n";
    if (flags.has("saveEngine"))
      cli::write_file_atomically(flags.get("saveEngine"), serialize_plan(*graph, *built, shapes));
    build_ms = elapsed_ms(build_start);
  }
  Engine* engine = &*built;
  const bool int8 = engine->int8;
  if (verbose) {
    std::cout << "[I] model: opset " << graph->opset << ", " << graph->node_count()
              << " nodes after the passes\n";
    for (const auto& p : engine->passes.passes)
      std::cout << "[I] pass " << p.name << ": " << p.changes << " changes\n";
  }
  // After the first run: a kernel may leave a layer to a lower level's code.
  auto print_layers = [&] {
    if (!verbose) return;
    for (const auto& [node, ran] : engine->executor.layer_kernels()) {
      std::cout << "[I] layer " << node->describe()
                << " precision=" << (is_integer_layer(*node) ? "int8" : "fp32")
                << " kernel=" << isa_name(ran.isa);
      if (ran.algorithm) std::cout << " algorithm=" << ran.algorithm;
      if (ran.form) std::cout << " epilogue=" << ran.form;
      std::cout << "\n";
    }
  };

  std::vector<Tensor> outputs;
  auto run_once = [&] {  // into the last run's outputs: a timed run allocates nothing
    const Status status = engine->executor.run(inputs, outputs);
    if (!status.is_ok()) throw Error(status.message(), status.kind());
  };
  if (flags.has("skipInference")) {
    print_layers();
    std::cout << "Build time: " << ms(build_ms) << " ms   Load time: " << ms(load_ms) << " ms\n";
    return 0;
  }
  // First run: errors surface before timing starts; the layers' shapes are
  // the explainer's, their outputs --compareLayers'.
  std::map<const Value*, Shape> run_shapes;
  TensorRecorder engine_run;
  const bool comparing = flags.has("compareLayers");
  if ((verbose && int8) || comparing) {
    ReferenceExecutor::NodeObserver record;
    if (comparing) record = engine_run.observer();
    engine->executor.set_observer([&, record](const Node& n, const std::vector<Tensor>& outs) {
      for (size_t i = 0; i < outs.size() && i < n.outputs().size(); ++i)
        if (n.output(i)) run_shapes[n.output(i)] = outs[i].shape();
      if (record) record(n, outs);
    });
  }
  run_once();
  engine->executor.set_observer(nullptr);
  print_layers();
  if (comparing) compare_layers(engine_run, quantized_sources, inputs, engine->isa, flags);
  if (flags.has("loadRefOutputs")) check_accuracy(*graph, outputs, flags);
  if (verbose && int8) {
    for (const auto& [name, shape] : shapes) run_shapes[graph->find_value(name)] = shape;
    print_fusion_explanation(*graph, [&](const Value& v) -> std::optional<Shape> {
      if (v.constant) return v.constant->shape();
      auto it = run_shapes.find(&v);
      return it != run_shapes.end() ? std::optional<Shape>(it->second) : std::nullopt;
    });
  }
  const bool profiling = flags.has("dumpProfile") || flags.has("exportProfile");
  std::function<void()> timed_run = run_once;
  if (profiling)  // only the timed runs count, not the warm-up
    timed_run = [&, warming = true, started = Clock::now()]() mutable {
      if (warming && std::chrono::duration<double, std::milli>(Clock::now() - started).count() >=
                         timing.warm_up_ms) {
        warming = false;
        engine->executor.set_profiling(true);
      }
      run_once();
    };
  const auto latencies = time_iterations(timing, timed_run);
  if (profiling) report_profile(*engine, flags);
  const LatencyStats stats = summarize_latencies(latencies);
  if (int8 && !from_plan && !best && !flags.has("noFp32Compare")) {
    // Is INT8 worth it here? The FP32 engine of the same model, same inputs.
    EngineOptions fp32_options;
    fp32_options.isa = selected_isa();
    fp32_options.max_activation_bytes = max_activation_bytes;
    auto fp32 = build_engine_from(float_model, fp32_options);
    if (!fp32.is_ok()) return cli::report_error(fp32.status());
    const double fp32_ms = median_latency_ms(fp32->engine, inputs, side_timing);
    if (verbose)
      std::cout << "[I] the FP32 engine on the same inputs: median " << ms(fp32_ms) << " ms\n";
    if (stats.median >= fp32_ms)
      std::cerr << "warning: the INT8 engine (median " << ms(stats.median)
                << " ms) is not faster than the FP32 engine of the same model on the same inputs "
                   "(median "
                << ms(fp32_ms) << " ms); --best picks the faster precision per layer\n";
  }
  if (verbose) {
    const int64_t avg_runs = std::max<int64_t>(1, flags.get_int("avgRuns", 10));
    for (size_t i = 0; i + static_cast<size_t>(avg_runs) <= latencies.size();
         i += static_cast<size_t>(avg_runs)) {
      double sum = 0;
      for (int64_t k = 0; k < avg_runs; ++k) sum += latencies[i + static_cast<size_t>(k)];
      std::cout << "[I] average over " << avg_runs
                << " runs: " << ms(sum / static_cast<double>(avg_runs)) << " ms\n";
    }
  }

  if (flags.has("exportOutput")) {
    std::vector<std::string> names;
    for (const Value* v : graph->outputs()) names.push_back(v->name);
    cli::write_file_atomically(flags.get("exportOutput"), cli::tensors_to_json(names, outputs));
  }
  if (flags.has("exportTimes")) {
    std::string json = "[";
    for (size_t i = 0; i < latencies.size(); ++i)
      json += std::string(i ? ",\n " : "\n ") +
              "{\"latencyMs\": " + cli::json_number(latencies[i]) + "}";
    cli::write_file_atomically(flags.get("exportTimes"), json + "\n]\n");
  }

  std::string percentiles;
  for (const std::string& p : cli::split(flags.get("percentile", "90,95,99"), ',')) {
    double value = 0;
    try {
      value = std::stod(p);
    } catch (const std::exception&) {
      fail("--percentile: '" + p + "' is not a number");
    }
    check(value >= 0 && value <= 100, "--percentile values must lie in [0, 100]");
    percentiles += ", percentile(" + p + "%) = " + ms(stats.percentile(value)) + " ms";
  }
  std::cout << "=== Performance summary ===\n"
            << "Throughput: " << ms(static_cast<double>(stats.count) / stats.total_s) << " qps\n"
            << "Latency: min = " << ms(stats.min) << " ms, max = " << ms(stats.max)
            << " ms, mean = " << ms(stats.mean) << " ms, median = " << ms(stats.median) << " ms"
            << percentiles << "\n"
            << "Engine: precision=" << (int8 ? "int8" : "fp32")
            << " layers=" << engine->executor.layer_count() << " int8=" << engine->int8_layers
            << " fp32=" << engine->executor.layer_count() - engine->int8_layers
            << " weights=" << mb(engine->executor.weight_bytes())
            << " MB activations=" << mb(engine->executor.peak_activation_bytes())
            << " MB threads=" << threads << " isa=" << isa_name(engine->isa) << "\n"
            << "Build time: " << ms(build_ms) << " ms   Load time: " << ms(load_ms) << " ms\n";
  return 0;
}

}  // namespace
}  // namespace qdq

int main(int argc, char** argv) {
  return qdq::cli::run_tool([&] { return qdq::run(argc, argv); });
}
