// THE ordered list of passes (pipeline.cc says why in this order).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace qdq {

struct PipelineEntry {
  std::unique_ptr<Pass> pass;
  PipelineForm first_form;    // the pass runs in this form and the ones after it
  bool float_engine = false;  // an engine pass the FP32 engine runs too
  bool inexact = false;       // changes results on purpose (qdq-opt's only: the engines skip it)
};

// Every pass, in pipeline order.
const std::vector<PipelineEntry>& all_passes();
// The passes of `form` named in "a,b,c" (in pipeline order, whatever order they
// are named in); an empty list means all of the form's passes. Those named in
// `skipped` are left out. Throws for an unknown name or a lowering pass asked
// for in the kQdq form.
std::vector<const Pass*> select_passes(const std::string& names, PipelineForm form,
                                       const std::string& skipped = "");

}  // namespace qdq
