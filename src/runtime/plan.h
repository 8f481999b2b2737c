// Engine plans: what `qexec --saveEngine` writes and `--loadEngine` reads. A
// plan holds the engine's graph after the passes, the kernel level it was
// built for, the pre-packed weights of its convolutions and the input shape
// ranges; loading it maps the file and runs with no passes and no packing.
// Layout and schema: proto/plan.proto.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/engine.h"

namespace qdq {

// 2: a depthwise layer's packed bias takes off x_zero * sum w, and GEMM
// weights pad each tap's channels to a multiple of 4 (version 1: neither).
inline constexpr uint32_t kPlanFormatVersion = 2;

// Serializes a built engine. It runs the engine once first, on zero inputs of
// each range's opt shape, so that every packed weight array exists and goes
// into the plan (where zeros are no valid input, e.g. a scale fed as an input,
// it carries none and the first run after loading packs). The same graph and
// options give the same bytes.
std::string serialize_plan(const Graph& graph, Engine& engine,
                           const std::map<std::string, Shape>& opt_shapes);

struct LoadedPlan {
  std::unique_ptr<Graph> graph;  // the engine refers to it: never moved
  Engine engine;
  std::string producer;
  Isa built_isa = Isa::kRef;
  std::map<std::string, Shape> opt_shapes;  // per input, what the plan was prepared for
  std::vector<std::string> warnings;
};

// Reads and checks a plan (checksum, version, sizes) and makes its engine at
// the plan's kernel level, or at `cpu_isa` when that is lower (the packed
// weights are then packed again for it, with a warning).
Result<LoadedPlan> load_plan(const std::filesystem::path& path, Isa cpu_isa,
                             size_t max_activation_bytes = 0);

}  // namespace qdq
