#include "runtime/best_precision.h"

#include <algorithm>

namespace qdq {
namespace {

void run_or_throw(Engine& engine, const std::map<std::string, Tensor>& inputs) {
  auto r = engine.executor.run(inputs);
  if (!r.is_ok()) throw Error(r.status().message(), r.status().kind());
}

// Milliseconds per run of each layer, by node name, over `runs` profiled runs.
std::map<std::string, double> layer_times(Engine& engine,
                                          const std::map<std::string, Tensor>& inputs, int runs) {
  run_or_throw(engine, inputs);  // packs weights, plans memory
  engine.executor.set_profiling(true);
  for (int i = 0; i < runs; ++i) run_or_throw(engine, inputs);
  std::map<std::string, double> times;
  for (const auto& layer : engine.executor.profile())
    times[layer.node->name] += layer.total_ms / runs;
  engine.executor.set_profiling(false);
  return times;
}

// The layers a float form can replace: integer convolutions and matrix
// products (the lowering passes keep a node's name).
bool is_quantized_product(const Node& n) {
  return n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul" ||
         (n.domain == "ai.qdq" && n.op_type == "QConv");
}

std::string ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f ms", v);
  return buf;
}

}  // namespace

Result<BuiltEngine> build_engine_from(const ModelSource& model, const EngineOptions& options) {
  return catch_errors([&] {
    auto graph = std::make_unique<Graph>(model());
    auto engine = build_engine(*graph, options);
    if (!engine.is_ok()) throw Error(engine.status().message(), engine.status().kind());
    return BuiltEngine{std::move(graph), std::move(engine.value())};
  });
}

double median_latency_ms(Engine& engine, const std::map<std::string, Tensor>& inputs,
                         const TimingOptions& timing) {
  run_or_throw(engine, inputs);
  return summarize_latencies(time_iterations(timing, [&] { run_or_throw(engine, inputs); })).median;
}

Result<BestEngine> build_best_engine(const ModelSource& model, const ModelSource& float_model,
                                     const EngineOptions& options,
                                     const std::map<std::string, Tensor>& inputs,
                                     const TimingOptions& timing) {
  return catch_errors([&] {
    auto build = [&](bool int8, std::set<std::string> float_layers) {
      EngineOptions o = options;
      o.int8 = int8;
      o.float_layers = std::move(float_layers);
      auto built = build_engine_from(int8 ? model : float_model, o);
      if (!built.is_ok()) throw Error(built.status().message(), built.status().kind());
      return std::move(built.value());
    };
    std::vector<std::string> log;
    std::vector<std::pair<std::string, BuiltEngine>> candidates;
    candidates.emplace_back("int8", build(true, {}));
    candidates.emplace_back("fp32", build(false, {}));
    constexpr int kProfiledRuns = 5;
    const auto int8_times = layer_times(candidates[0].second.engine, inputs, kProfiledRuns);
    const auto fp32_times = layer_times(candidates[1].second.engine, inputs, kProfiledRuns);
    std::set<std::string> float_layers;
    for (const Node* n : candidates[0].second.graph->topological_order()) {
      const auto fp32 = fp32_times.find(n->name);
      if (!is_quantized_product(*n) || fp32 == fp32_times.end()) continue;
      const double int8_ms = int8_times.at(n->name);
      const bool faster_in_fp32 = fp32->second < int8_ms;
      log.push_back("layer '" + n->name + "': int8 " + ms(int8_ms) + ", fp32 " + ms(fp32->second) +
                    (faster_in_fp32 ? " -> fp32" : ""));
      if (faster_in_fp32) float_layers.insert(n->name);
    }
    if (!float_layers.empty()) candidates.emplace_back("mixed", build(true, float_layers));
    // Whole engines, side by side in alternating rounds: a layer's time alone
    // misses the conversions a mixed engine adds between precisions.
    constexpr int kRounds = 3;
    std::vector<std::vector<double>> medians(candidates.size());
    for (int round = 0; round < kRounds; ++round)
      for (size_t i = 0; i < candidates.size(); ++i)
        medians[i].push_back(median_latency_ms(candidates[i].second.engine, inputs, timing));
    size_t chosen = 0;
    std::vector<double> best_of(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      std::sort(medians[i].begin(), medians[i].end());
      best_of[i] = medians[i][kRounds / 2];
      log.push_back(candidates[i].first + " engine: median " + ms(best_of[i]));
      if (best_of[i] < best_of[chosen]) chosen = i;
    }
    const std::string precision = candidates[chosen].first;
    std::vector<std::string> kept_float;
    if (precision == "mixed") kept_float.assign(float_layers.begin(), float_layers.end());
    return BestEngine{std::move(candidates[chosen].second), precision, std::move(kept_float),
                      std::move(log)};
  });
}

}  // namespace qdq
