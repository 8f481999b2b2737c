#include "passes/pass_manager.h"

#include "graph/verifier.h"

namespace qdq {

PipelineReport run_passes(Graph& graph, const std::vector<const Pass*>& passes,
                          PassContext& context, int max_rounds) {
  PipelineReport report;
  for (const Pass* p : passes) report.passes.push_back({p->name(), 0});
  for (report.rounds = 1; report.rounds <= max_rounds; ++report.rounds) {
    int round_changes = 0;
    for (size_t i = 0; i < passes.size(); ++i) {
      const int changes = passes[i]->run(graph, context);
      try {
        verify_graph(graph);
      } catch (const Error& e) {
        fail("pass " + passes[i]->name() + " left an invalid graph: " + e.what(),
             ErrorKind::kInternal);
      }
      report.passes[i].changes += changes;
      round_changes += changes;
    }
    if (round_changes == 0) break;
  }
  graph.prune_values();
  return report;
}

}  // namespace qdq
