// Pass tests build the same tiny graph twice, rewrite one copy, and check both
// the structure (op counts) and that the outputs still match the untouched copy
// on the reference executor.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "graph/builder.h"
#include "passes/pass_manager.h"
#include "runtime/inputs.h"
#include "runtime/reference/executor.h"

namespace qdq::testing {

inline std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (Node* n : g.nodes()) ++counts[n->op_type];
  return counts;
}

inline std::vector<Tensor> run_graph(const Graph& g, const std::map<std::string, Tensor>& inputs) {
  auto ex = ReferenceExecutor::create(g);
  if (!ex.is_ok()) throw Error(ex.status().message());
  auto r = ex->run(inputs);
  if (!r.is_ok()) throw Error(r.status().message());
  return r.value();
}

struct RewriteResult {
  Graph graph;
  PipelineReport report;
  std::vector<std::string> warnings;
};

// Applies `passes` to a fresh graph from `make`, and checks its outputs against
// another fresh graph from `make` within `tolerance` (absolute, on floats).
inline RewriteResult rewrite_and_compare(const std::function<Graph()>& make,
                                         const std::vector<const Pass*>& passes,
                                         float tolerance = 1e-5f) {
  Graph reference = make();
  RewriteResult r{make(), {}, {}};
  PassContext context;
  context.evaluate = evaluate_node;
  r.report = run_passes(r.graph, passes, context);
  r.warnings = context.warnings;
  std::map<std::string, Tensor> inputs;
  uint32_t seed = 11;
  for (const Value* v : reference.inputs())
    inputs[v->name] = random_tensor(v->dtype, *static_shape(*v->shape), seed++);
  auto want = run_graph(reference, inputs);
  auto got = run_graph(r.graph, inputs);
  EXPECT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    EXPECT_EQ(want[i].shape(), got[i].shape());
    EXPECT_EQ(want[i].dtype(), got[i].dtype());
    if (want[i].dtype() != DType::kFloat32 || want[i].shape() != got[i].shape()) continue;
    for (int64_t k = 0; k < want[i].numel(); ++k)
      EXPECT_NEAR(want[i].data<float>()[k], got[i].data<float>()[k], tolerance)
          << "output " << i << " element " << k;
  }
  return r;
}

inline Tensor random_floats(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

}  // namespace qdq::testing
