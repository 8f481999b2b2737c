#pragma once

#include "passes/pass.h"

namespace qdq {

// Concat(DQ(x_1), ..., DQ(x_n)) -> Q, every x_i and the output 8-bit per
// tensor, becomes a Concat of 8-bit tensors: Concat only places values, so
// quantizing its output quantizes each input, and Q(DQ(x_i)) is x_i itself
// where the parameters agree, or a requantization of x_i where they differ
// (kept as that DQ -> Q pair: in the engine a lookup table, fold_qdq_lookup).
// Exact. A Concat of 8-bit tensors is plain ONNX, so the qoperator form keeps
// it too. (ONNX Runtime's QLinearConcat computes the same requantization.)
class FoldQdqConcat : public Pass {
 public:
  std::string name() const override { return "fold_qdq_concat"; }
  std::string purpose() const override {
    return "run a Concat between DQs and a Q on the 8-bit tensors (requantizing inputs whose "
           "parameters differ)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
