// THE ordered list of passes (pipeline.cc says why in this order).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace qdq {

// Every pass, in pipeline order.
const std::vector<std::unique_ptr<Pass>>& all_passes();
// The passes named in "a,b,c" (in pipeline order, whatever order they are named
// in); throws for an unknown name. An empty list means all of them.
std::vector<const Pass*> select_passes(const std::string& names);

}  // namespace qdq
