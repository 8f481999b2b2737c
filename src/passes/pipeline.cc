#include "passes/pipeline.h"

#include <set>

#include "passes/eliminate_dead_code.h"
#include "passes/fold_constants.h"
#include "passes/fuse_batchnorm.h"

namespace qdq {

const std::vector<std::unique_ptr<Pass>>& all_passes() {
  static const std::vector<std::unique_ptr<Pass>> passes = [] {
    std::vector<std::unique_ptr<Pass>> p;
    // 1. Constants first: QAT exports compute weight scales in the graph and
    //    quantize fp32 weights at run time; folding turns both into initializers
    //    (int8 weights behind a DequantizeLinear), which is what the BN and Q/DQ
    //    matchers below look for.
    p.push_back(std::make_unique<FoldConstants>());
    // 2. Identity/Dropout would hide producer-consumer pairs from the matchers.
    p.push_back(std::make_unique<EliminateDeadCode>());
    // 3. BatchNormalization next to its conv, now that the conv's weight is a
    //    DequantizeLinear of a constant: folded into the weight scale and bias.
    p.push_back(std::make_unique<FuseBatchNorm>());
    return p;
  }();
  return passes;
}

std::vector<const Pass*> select_passes(const std::string& names) {
  std::set<std::string> wanted;
  size_t start = 0;
  while (start < names.size()) {
    size_t end = names.find(',', start);
    if (end == std::string::npos) end = names.size();
    if (end > start) wanted.insert(names.substr(start, end - start));
    start = end + 1;
  }
  const bool everything = wanted.empty();
  std::vector<const Pass*> selected;
  for (const auto& p : all_passes())
    if (everything || wanted.erase(p->name())) selected.push_back(p.get());
  check(wanted.empty(),
        "unknown pass '" + (wanted.empty() ? "" : *wanted.begin()) + "' (see --list-passes)");
  return selected;
}

}  // namespace qdq
