// IR invariants: every use has a definition, producer/consumer links agree, no
// cycles, constants have a type. Run by the importer, by tests, and after every
// pass.
#pragma once

#include "graph/graph.h"

namespace qdq {

// Throws qdq::Error naming the first broken invariant.
void verify_graph(const Graph& graph);

}  // namespace qdq
