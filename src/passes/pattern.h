// The small matching vocabulary every pass shares.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "graph/graph.h"

namespace qdq {

// The node producing `v` if it has op type `op_type` (and the default domain).
Node* producer_if(const Value* v, const std::string& op_type);
// True when `v` feeds exactly one node input and is not a graph output.
bool has_single_use(const Value* v);
// True when both shapes are known to be equal: dim by dim the same size, or the
// same named symbol ("batch").
bool same_shape(const Value* a, const Value* b);
// The constant behind `v`, or nullptr.
const Tensor* constant_of(const Value* v);
// The value of a one-element constant behind `v`, or nullopt.
std::optional<double> constant_scalar(const Value* v);
// The clamp a Relu or a Clip (constant bounds) applies to its input, as
// [lo, hi] with infinities for an open side; nullopt for other nodes.
std::optional<std::pair<float, float>> activation_bounds(const Node& n);
// `conv` and `reader`, the only reader of its output, become one ai.qdq.Conv
// (the FP32 engine's fused conv) named as the conv, taking `inputs` and
// `attributes`, writing the reader's output.
void fuse_into_engine_conv(Graph& graph, Node* conv, Node* reader, std::vector<Value*> inputs,
                           Attributes attributes);
// Fresh value name based on `base` that the graph does not use yet.
std::string unique_name(const Graph& graph, const std::string& base);
// A new constant value named after `base` (made unique).
Value* add_constant(Graph& graph, const std::string& base, Tensor tensor);
// Replaces every node input reading `from` with `to`. Graph outputs keep their
// names (they are the model's API), so `from` must not be one.
void replace_all_uses(Graph& graph, Value* from, Value* to);

}  // namespace qdq
