#pragma once

#include "passes/pass.h"

namespace qdq {

// DQ(x) -> unary float ops (Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid,
// HardSwish, Abs; or none: a requantization) -> Q, with 8-bit per-tensor x
// and output, becomes
// ai.qdq.LookupTable(x, table): an 8-bit input has 256 values, so the 256
// results, computed once by the reference kernels on exactly those inputs, are
// the float chain's results bit for bit. These are the float islands ONNX
// Runtime's s8s8 graphs leave between convolutions (DQ -> Clip -> Q for ReLU6).
// Engine form only: ai.qdq ops are qdq's own.
// True for a unary op (constant parameters) this pass turns into a table.
bool has_lookup_form(const Node& n);

class FoldQdqLookup : public Pass {
 public:
  std::string name() const override { return "fold_qdq_lookup"; }
  std::string purpose() const override {
    return "fold DQ -> [unary float ops] -> Q on 8-bit tensors into a 256-entry lookup table";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
