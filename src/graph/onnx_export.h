// qdq IR -> ONNX model, checked with ONNX's own checker.
#pragma once

#include <filesystem>
#include <string>

#include "graph/graph.h"

namespace qdq {

// Serialized ModelProto; throws qdq::Error when onnx::checker rejects it (a bug
// of ours: every pass keeps the graph valid ONNX).
std::string export_onnx(const Graph& graph);

}  // namespace qdq
