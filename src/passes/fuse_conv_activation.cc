#include "passes/fuse_conv_activation.h"

#include "passes/pattern.h"

namespace qdq {

int FuseConvActivation::run(Graph& graph, PassContext&) const {
  int fused = 0;
  for (Node* act : graph.topological_order()) {
    const auto range = activation_bounds(*act);
    // A plain Conv, or fuse_conv_residual's (it clamps nothing yet).
    Node* conv = range && act->input(0) ? act->input(0)->producer : nullptr;
    if (!conv || conv->op_type != "Conv" ||
        !(conv->domain.empty() ||
          (conv->domain == "ai.qdq" && !conv->attributes.has("activation_min"))) ||
        !has_single_use(conv->output(0)))
      continue;
    Attributes attributes = conv->attributes;
    attributes.set("activation_min", range->first);
    attributes.set("activation_max", range->second);
    if (act->op_type == "Relu") attributes.set("activation_relu", int64_t{1});
    fuse_into_engine_conv(graph, conv, act, conv->inputs(), std::move(attributes));
    ++fused;
  }
  return fused;
}

}  // namespace qdq
