#include "passes/fuse_conv_residual.h"

#include "passes/pattern.h"

namespace qdq {

int FuseConvResidual::run(Graph& graph, PassContext&) const {
  int fused = 0;
  for (Node* add : graph.topological_order()) {
    if (add->op_type != "Add" || !add->domain.empty() || add->inputs().size() != 2) continue;
    for (size_t side = 0; side < 2; ++side) {
      Node* conv = producer_if(add->input(side), "Conv");
      Value* residual = add->input(1 - side);
      // No broadcast: the residual has the output's shape, element for element.
      if (!conv || !has_single_use(conv->output(0)) || residual->dtype != DType::kFloat32 ||
          !same_shape(residual, conv->output(0)) || !same_shape(residual, add->output(0)))
        continue;
      std::vector<Value*> inputs = conv->inputs();
      inputs.resize(3, nullptr);  // no bias: an empty input 2
      inputs.push_back(residual);
      fuse_into_engine_conv(graph, conv, add, inputs, conv->attributes);
      ++fused;
      break;
    }
  }
  return fused;
}

}  // namespace qdq
