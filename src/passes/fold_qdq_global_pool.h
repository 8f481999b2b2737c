#pragma once

#include "passes/pass.h"

namespace qdq {

// The channels-last GlobalAveragePool (layout_nhwc's ai.qdq.GlobalAveragePool)
// between a per-tensor 8-bit DequantizeLinear and/or a QuantizeLinear takes
// them in: it reads the 8-bit tensor, dequantizing each element as it adds
// it, and quantizes the mean (runtime/reference/pool.cc). The same float steps
// in the same order as the three ops: exact. ONNX Runtime's PTQ files end
// that way (DQ -> GlobalAveragePool -> Q before the classifier): one pass
// over bytes instead of a float tensor written, read, averaged and quantized.
// Engine form only: ai.qdq ops are qdq's own.
class FoldQdqGlobalPool : public Pass {
 public:
  std::string name() const override { return "fold_qdq_global_pool"; }
  std::string purpose() const override {
    return "fold the DQ before and the Q after a channels-last GlobalAveragePool into it";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
