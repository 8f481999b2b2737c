#pragma once

#include "passes/pass.h"

namespace qdq {

// QuantizeLinear(DequantizeLinear(q)) with the same scale, zero point and type
// is q itself (DequantizeLinear is exact and QuantizeLinear inverts it), so the
// pair goes and readers read q.
class RemoveRedundantQdq : public Pass {
 public:
  std::string name() const override { return "remove_redundant_qdq"; }
  std::string purpose() const override {
    return "drop DequantizeLinear -> QuantizeLinear pairs that cancel";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
