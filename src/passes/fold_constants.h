#pragma once

#include "passes/pass.h"

namespace qdq {

// Evaluates nodes whose inputs are all constant (exporters' weight-scale
// subgraphs such as Clip(amax) / 127, QuantizeLinear of an fp32 weight) and
// Shape of a statically shaped value. DequantizeLinear of a quantized constant
// stays: it is the Q/DQ form later passes fold into integer ops.
class FoldConstants : public Pass {
 public:
  std::string name() const override { return "fold_constants"; }
  std::string purpose() const override {
    return "evaluate constant subgraphs (weight scales, Q of fp32 weights -> int8 initializers)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
