#include "passes/pipeline.h"

#include <algorithm>
#include <set>

#include "passes/eliminate_dead_code.h"
#include "passes/fold_constants.h"
#include "passes/fold_qdq_add.h"
#include "passes/fold_qdq_concat.h"
#include "passes/fold_qdq_conv.h"
#include "passes/fold_qdq_global_pool.h"
#include "passes/fold_qdq_lookup.h"
#include "passes/fold_qdq_passthrough.h"
#include "passes/fuse_batchnorm.h"
#include "passes/fuse_conv_activation.h"
#include "passes/fuse_conv_residual.h"
#include "passes/fuse_qconv_epilogue.h"
#include "passes/fuse_qconv_float_sum.h"
#include "passes/infer_shapes.h"
#include "passes/insert_residual_qdq.h"
#include "passes/layout_nhwc.h"
#include "passes/lower_qdq_gemm.h"
#include "passes/remove_redundant_qdq.h"

namespace qdq {

const std::vector<PipelineEntry>& all_passes() {
  static const std::vector<PipelineEntry> passes = [] {
    std::vector<PipelineEntry> p;
    // 1. Constants first: QAT exports compute weight scales in the graph and
    //    quantize fp32 weights at run time; folding turns both into initializers
    //    (int8 weights behind a DequantizeLinear), which is what the BN and Q/DQ
    //    matchers below look for.
    p.push_back({std::make_unique<FoldConstants>(), PipelineForm::kQdq});
    //    Shapes that only the folded constants determine (a Pad's pads made by
    //    a shape subgraph) become known, for the matchers that compare shapes.
    p.push_back({std::make_unique<InferShapes>(), PipelineForm::kQdq});
    // 2. Identity/Dropout would hide producer-consumer pairs from the matchers.
    p.push_back({std::make_unique<EliminateDeadCode>(), PipelineForm::kQdq});
    // 3. BatchNormalization next to its conv, now that the conv's weight is a
    //    DequantizeLinear of a constant: folded into the weight scale and bias,
    //    so the conv's output meets its QuantizeLinear directly.
    p.push_back({std::make_unique<FuseBatchNorm>(), PipelineForm::kQdq});
    //    With BN gone, a residual Add meets the conv's output directly; where
    //    its other input is float but quantized for another reader, it reads
    //    that input through the same Q/DQ (TensorRT's rule; inexact, warned;
    //    qdq-opt only: the INT8 engine fuses such an add exactly, reading the
    //    float input, see fuse_qconv_float_sum).
    p.push_back({std::make_unique<InsertResidualQdq>(), PipelineForm::kQdq, false, true});
    // 4. Q(DQ(q)) pairs that cancel, before the group matchers look at edges.
    p.push_back({std::make_unique<RemoveRedundantQdq>(), PipelineForm::kQdq});
    // 5. Lowering: DQ -> Conv -> [act] -> Q groups become integer convolutions.
    //    Last, because it needs BN gone (3) and weights constant (1).
    //    A quantized Gemm/MatMul (the classifier) is a 1x1 conv first.
    p.push_back({std::make_unique<LowerQdqGemm>(), PipelineForm::kQOperator});
    p.push_back({std::make_unique<FoldQdqConv>(), PipelineForm::kQOperator});
    // 6. Residual adds between quantized tensors (ORT PTQ graphs): QLinearAdd.
    p.push_back({std::make_unique<FoldQdqAdd>(), PipelineForm::kQOperator});
    //    And the ops that only move or select values (MaxPool, Reshape, ...)
    //    between a DQ and a Q of the same parameters run on the 8-bit tensor.
    p.push_back({std::make_unique<FoldQdqPassthrough>(), PipelineForm::kQOperator});
    p.push_back({std::make_unique<FoldQdqConcat>(), PipelineForm::kQOperator});
    // 7. Engine only: the float islands left between quantized tensors
    //    (DQ -> ReLU6 -> Q) become lookup tables, after the conv lowering (5)
    //    took the activations that follow a conv directly.
    p.push_back({std::make_unique<FoldQdqLookup>(), PipelineForm::kEngine});
    // 8. Integer convolutions channels-last, after lowering made them (5, 6);
    //    then their epilogues absorb the Clip and QLinearAdd that the layout
    //    pass moved next to them.
    p.push_back({std::make_unique<LayoutNhwc>(), PipelineForm::kEngine});
    p.push_back({std::make_unique<FuseQConvEpilogue>(), PipelineForm::kEngine});
    //    The float-output convs of TensorRT-style QAT: their block ends (add,
    //    activation, quantization) in the conv too.
    p.push_back({std::make_unique<FuseQConvFloatSum>(), PipelineForm::kEngine});
    //    The channels-last GlobalAveragePool reads the 8-bit tensor before it
    //    and quantizes its mean itself.
    p.push_back({std::make_unique<FoldQdqGlobalPool>(), PipelineForm::kEngine});
    // 9. The convs still in float (FP32 models; float layers of INT8 ones)
    //    add their block's shortcut and clamp their own output: after the
    //    lowering took every conv it could.
    p.push_back({std::make_unique<FuseConvResidual>(), PipelineForm::kEngine, true});
    p.push_back({std::make_unique<FuseConvActivation>(), PipelineForm::kEngine, true});
    return p;
  }();
  return passes;
}

namespace {

std::set<std::string> name_set(const std::string& names) {
  std::set<std::string> set;
  size_t start = 0;
  while (start < names.size()) {
    size_t end = names.find(',', start);
    if (end == std::string::npos) end = names.size();
    if (end > start) set.insert(names.substr(start, end - start));
    start = end + 1;
  }
  return set;
}

}  // namespace

std::vector<const Pass*> select_passes(const std::string& names, PipelineForm form,
                                       const std::string& skipped) {
  std::set<std::string> wanted = name_set(names), unwanted = name_set(skipped);
  for (const std::string& name : unwanted) {
    const auto& all = all_passes();
    check(std::any_of(all.begin(), all.end(),
                      [&](const PipelineEntry& e) { return e.pass->name() == name; }),
          "unknown pass '" + name + "' (see --list-passes)");
  }
  const bool everything = wanted.empty();
  std::vector<const Pass*> selected;
  for (const auto& e : all_passes()) {
    // The engines run the model as it is: a pass that changes results is
    // qdq-opt's (the user writes the changed model, warned).
    const bool in_form =
        form == PipelineForm::kFloatEngine
            ? (e.first_form == PipelineForm::kQdq && !e.inexact) || e.float_engine
            : e.first_form <= form && !(form == PipelineForm::kEngine && e.inexact);
    if (unwanted.count(e.pass->name())) {
      wanted.erase(e.pass->name());
      continue;
    }
    if (everything ? in_form : wanted.count(e.pass->name()) != 0) {
      check(in_form, "pass " + e.pass->name() +
                         (e.inexact ? " changes results: the engines leave it to qdq-opt"
                          : e.first_form == PipelineForm::kEngine
                              ? " makes the INT8 engine's own operators: it runs only in qexec"
                              : " lowers to integer operators: it needs --form=qoperator"));
      selected.push_back(e.pass.get());
    }
    wanted.erase(e.pass->name());
  }
  check(wanted.empty(),
        "unknown pass '" + (wanted.empty() ? "" : *wanted.begin()) + "' (see --list-passes)");
  return selected;
}

}  // namespace qdq
