// Why a node of a rewritten graph is not an INT8 layer: the rule of the Q/DQ
// folding passes that its group failed, in words a user can act on ("Add: one
// input has no Q/DQ (residual branch) ..."), and how many of the graph's
// multiply-adds the integer layers do. Read-only: it looks at the graph the
// pipeline left, the same conditions the passes check, and changes nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace qdq {

// True for a node that computes in integers: the QLinear/Integer ops, qdq's
// QConv and LookupTable, and data movement or clamping on 8-bit tensors.
bool is_integer_layer(const Node& node);

// The shape a value has at run time, when known.
using ShapeLookup = std::function<std::optional<Shape>(const Value&)>;
// The graph's own shapes, symbolic dims (the batch) taken as 1.
std::optional<Shape> per_image_shape(const Value& v);

// Multiply-adds of one run of a convolution or matrix product (float or
// integer form); 0 for other ops or unknown shapes.
int64_t multiply_adds(const Node& node, const ShapeLookup& shape_of);

struct FloatLayerNote {
  const Node* node;
  std::string reason;
};

struct FusionExplanation {
  // Every node that is not an integer layer, in execution order, and integer
  // layers that run a slower form (kept in ONNX layout), with the reason.
  std::vector<FloatLayerNote> notes;
  size_t layers = 0, integer_layers = 0;
  int64_t multiply_adds = 0, integer_multiply_adds = 0;
};

FusionExplanation explain_fusion(const Graph& graph, const ShapeLookup& shape_of);

}  // namespace qdq
