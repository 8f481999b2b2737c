#include "passes/fuse_conv_activation.h"

#include <limits>

#include "passes/pattern.h"

namespace qdq {
namespace {

struct Range {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};

// The clamp a Relu or Clip applies; nullopt for anything else, or a Clip
// whose bounds are not constants.
std::optional<Range> clamp_of(const Node& n) {
  if (!n.domain.empty()) return std::nullopt;
  if (n.op_type == "Relu") return Range{0.0f, std::numeric_limits<float>::infinity()};
  if (n.op_type != "Clip") return std::nullopt;
  Range r;
  r.lo = n.attributes.get_float("min", r.lo);  // Clip < 11
  r.hi = n.attributes.get_float("max", r.hi);
  for (size_t i = 1; i < 3; ++i) {
    if (!n.input(i)) continue;
    const auto bound = constant_scalar(n.input(i));
    if (!bound) return std::nullopt;
    (i == 1 ? r.lo : r.hi) = static_cast<float>(*bound);
  }
  return r;
}

}  // namespace

int FuseConvActivation::run(Graph& graph, PassContext&) const {
  int fused = 0;
  for (Node* act : graph.topological_order()) {
    const auto range = clamp_of(*act);
    Node* conv = range ? producer_if(act->input(0), "Conv") : nullptr;
    if (!conv || !has_single_use(conv->output(0))) continue;
    std::vector<Value*> inputs = conv->inputs();
    Attributes attributes = conv->attributes;
    attributes.set("activation_min", range->lo);
    attributes.set("activation_max", range->hi);
    Value* out = act->output(0);
    const std::string name = conv->name;
    graph.remove_node(act);
    graph.remove_node(conv);
    Node* fused_conv = graph.add_node("Conv", inputs, {out}, name);
    fused_conv->domain = "ai.qdq";
    fused_conv->attributes = std::move(attributes);
    ++fused;
  }
  return fused;
}

}  // namespace qdq
