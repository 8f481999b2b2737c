// Runs an ordered list of passes to a fixed point, verifying the IR after each.
#pragma once

#include <string>
#include <vector>

#include "passes/pass.h"

namespace qdq {

struct PassReport {
  std::string name;
  int changes = 0;  // summed over all rounds
};

struct PipelineReport {
  std::vector<PassReport> passes;  // in pipeline order
  int rounds = 0;
  int total_changes() const {
    int sum = 0;
    for (const PassReport& p : passes) sum += p.changes;
    return sum;
  }
};

// Repeats the whole list until a round changes nothing (at most max_rounds).
// verify_graph runs after every pass: a pass that breaks the IR is a bug of ours.
PipelineReport run_passes(Graph& graph, const std::vector<const Pass*>& passes,
                          PassContext& context, int max_rounds = 8);

}  // namespace qdq
