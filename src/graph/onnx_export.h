// qdq IR -> ONNX model, checked with ONNX's own checker.
#pragma once

#include <filesystem>
#include <string>

#include "graph/graph.h"

namespace onnx {
class ModelProto;
}

namespace qdq {

// The ModelProto itself, checked (for callers that lay it out further: plans).
void export_onnx_proto(const Graph& graph, onnx::ModelProto* model);

// Serialized ModelProto; throws qdq::Error when onnx::checker rejects it (a bug
// of ours: every pass keeps the graph valid ONNX).
std::string export_onnx(const Graph& graph);

}  // namespace qdq
