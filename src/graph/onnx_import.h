// ONNX file -> qdq IR.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.h"
#include "graph/onnx_tensor.h"
#include "support/status.h"

namespace qdq {

// The default-domain opsets whose operator semantics we implement (kernels
// handle the attribute-vs-input changes between versions).
inline constexpr int64_t kMinOpset = 1;
inline constexpr int64_t kMaxOpset = 21;

struct ImportOptions {
  // ONNX's shape inference fills in intermediate value shapes; it does not know
  // opsets newer than the installed libonnx, where we fall back to our own.
  bool run_shape_inference = true;
  // The ops whose ONNX shape inference may run. libonnx's inference functions
  // trust the node's structure (fuzzing found a malformed STFT node that
  // crashes libonnx 1.12), so a model holding any other op is imported without
  // inferred shapes. Empty: every op. Tools pass the ops qdq runs
  // (runtime_import_options): a model with others is refused later anyway.
  std::function<bool(const std::string& domain, const std::string& op_type)> trusted_op;
  // The most bytes the model's initializers may claim, checked before any is
  // read (0: no limit beyond the per-tensor cap).
  size_t max_weight_bytes = size_t{4} << 30;
  // A plan's blob, where its model's large tensors are (runtime/plan.h).
  const ExternalBlob* blob = nullptr;
};

struct ImportedModel {
  Graph graph;
  std::vector<std::string> warnings;
};

Result<ImportedModel> import_onnx_file(const std::filesystem::path& path,
                                       const ImportOptions& options = {});
// model_dir resolves external data.
Result<ImportedModel> import_onnx_bytes(std::string_view bytes,
                                        const std::filesystem::path& model_dir,
                                        const ImportOptions& options = {});

}  // namespace qdq
