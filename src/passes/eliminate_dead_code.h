#pragma once

#include "passes/pass.h"

namespace qdq {

// Removes Identity and inference-mode Dropout (their readers read the input
// instead) and nodes whose results nobody reads.
class EliminateDeadCode : public Pass {
 public:
  std::string name() const override { return "eliminate_dead_code"; }
  std::string purpose() const override {
    return "drop Identity, inference Dropout and unread nodes";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
