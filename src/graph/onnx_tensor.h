// Conversions between ONNX TensorProto and qdq::Tensor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "graph/graph.h"
#include "graph/tensor.h"

namespace onnx {
class TensorProto;
class TensorShapeProto;
}  // namespace onnx

namespace qdq {

DType dtype_from_onnx(int32_t onnx_type);  // kUndefined if we do not support it
// Dims with a value are known; dims with a parameter keep it as their symbol.
SymbolicShape shape_from_onnx(const onnx::TensorShapeProto& shape);
int32_t dtype_to_onnx(DType t);

// The blob of a plan file: tensors whose external data location is
// kPlanBlobLocation are views into it (no copy), kept alive by `owner`.
inline constexpr const char* kPlanBlobLocation = "qdq-plan-blob";
struct ExternalBlob {
  std::shared_ptr<void> owner;
  uint8_t* data = nullptr;
  size_t size = 0;

  // The `bytes` at `offset`, checked first to lie inside the blob and to be
  // 64-byte aligned (the file says where; it is not trusted). `what` names
  // them in the error.
  uint8_t* range(uint64_t offset, uint64_t bytes, const std::string& what) const;
};

// Reads a TensorProto, including external data. External paths are resolved
// against model_dir and must stay inside it (no absolute paths, no '..' escape).
Tensor tensor_from_onnx(const onnx::TensorProto& proto, const std::filesystem::path& model_dir,
                        const ExternalBlob* blob = nullptr);
void tensor_to_onnx(const Tensor& t, onnx::TensorProto* proto);
// The bytes a TensorProto's dims and type claim (checked: no overflow, below
// the 64 GiB tensor cap), without reading its data.
size_t tensor_proto_bytes(const onnx::TensorProto& proto);

// A serialized TensorProto file, as the ONNX test data stores inputs and outputs.
Tensor read_tensor_proto_file(const std::filesystem::path& path, std::string* name = nullptr);

}  // namespace qdq
