// What the optimized-kernel tests share: running a graph of constants at one
// kernel level.
#pragma once

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "runtime/reference/executor.h"

namespace qdq::testing {

// The first output of `g` (constant inputs) with the kernels of `isa`.
inline Tensor run_at_isa(const Graph& g, Isa isa) {
  auto ex = ReferenceExecutor::create(g, ExecutorOptions{isa, {}});
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  auto out = ex->run({});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.value()[0];
}

}  // namespace qdq::testing
