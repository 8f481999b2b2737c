#include "graph/onnx_tensor.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "onnx/onnx_pb.h"

namespace qdq {

SymbolicShape shape_from_onnx(const onnx::TensorShapeProto& proto) {
  SymbolicShape shape;
  for (const auto& d : proto.dim()) {
    Dim dim;
    if (d.has_dim_value()) dim.size = d.dim_value();
    if (d.has_dim_param()) dim.symbol = d.dim_param();
    shape.push_back(dim);
  }
  return shape;
}

DType dtype_from_onnx(int32_t onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT:
      return DType::kFloat32;
    case onnx::TensorProto::DOUBLE:
      return DType::kFloat64;
    case onnx::TensorProto::UINT8:
      return DType::kUInt8;
    case onnx::TensorProto::INT8:
      return DType::kInt8;
    case onnx::TensorProto::INT32:
      return DType::kInt32;
    case onnx::TensorProto::INT64:
      return DType::kInt64;
    case onnx::TensorProto::BOOL:
      return DType::kBool;
    default:
      return DType::kUndefined;
  }
}

int32_t dtype_to_onnx(DType t) {
  switch (t) {
    case DType::kFloat32:
      return onnx::TensorProto::FLOAT;
    case DType::kFloat64:
      return onnx::TensorProto::DOUBLE;
    case DType::kUInt8:
      return onnx::TensorProto::UINT8;
    case DType::kInt8:
      return onnx::TensorProto::INT8;
    case DType::kInt32:
      return onnx::TensorProto::INT32;
    case DType::kInt64:
      return onnx::TensorProto::INT64;
    case DType::kBool:
      return onnx::TensorProto::BOOL;
    case DType::kUndefined:
      break;
  }
  return onnx::TensorProto::UNDEFINED;
}

namespace {

struct ExternalRef {
  std::string location;
  int64_t offset = 0, length = -1;
};

ExternalRef external_ref(const onnx::TensorProto& proto) {
  ExternalRef ref;
  for (const auto& kv : proto.external_data()) {
    int64_t* number = kv.key() == "offset"   ? &ref.offset
                      : kv.key() == "length" ? &ref.length
                                             : nullptr;
    if (kv.key() == "location") ref.location = kv.value();
    if (!number) continue;
    const std::string& text = kv.value();
    check(!text.empty() && text.size() <= 18 &&
              std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }),
          "tensor '" + proto.name() + "': external data " + kv.key() + " '" + text +
              "' is not a number");
    *number = std::stoll(text);
  }
  return ref;
}

// Bytes a tensor of this shape needs, refusing sizes no model has (the shape
// comes from a file) before anyone multiplies or allocates.
size_t claimed_bytes(const std::string& name, DType dtype, const Shape& shape) {
  const int64_t numel = element_count(shape);
  check(static_cast<uint64_t>(numel) <= (uint64_t{64} << 30) / dtype_size(dtype),
        "tensor '" + name + "': shape " + shape_to_string(shape) + " is too large");
  return static_cast<size_t>(numel) * dtype_size(dtype);
}

// A view of a plan's blob: its size checked against the shape, its place by the blob.
Tensor blob_tensor(const onnx::TensorProto& proto, const ExternalRef& ref, const ExternalBlob& blob,
                   DType dtype, Shape shape) {
  const std::string what = "tensor '" + proto.name() + "': plan data";
  const size_t bytes = claimed_bytes(proto.name(), dtype, shape);
  check(ref.length >= 0 && static_cast<uint64_t>(ref.length) == bytes,
        what + " holds " + std::to_string(ref.length) + " bytes, shape needs " +
            std::to_string(bytes));
  return Tensor(dtype, std::move(shape),
                std::shared_ptr<void>(blob.owner,
                                      blob.range(static_cast<uint64_t>(ref.offset), bytes, what)));
}

std::string read_external(const onnx::TensorProto& proto, const std::filesystem::path& model_dir,
                          size_t expected_bytes) {
  auto [location, offset, length] = external_ref(proto);
  const std::string what = "tensor '" + proto.name() + "': external data '" + location + "'";
  check(!location.empty(), what + " has no location");
  std::filesystem::path rel(location);
  check(rel.is_relative(), what + ": absolute paths are refused");
  auto base = std::filesystem::weakly_canonical(model_dir.empty() ? "." : model_dir);
  auto full = std::filesystem::weakly_canonical(base / rel);
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  check(b == base.end(), what + ": path escapes the model's folder");
  std::error_code ec;
  auto file_size = std::filesystem::file_size(full, ec);
  check(!ec, what + ": cannot open " + full.string());
  check(offset >= 0 && static_cast<uint64_t>(offset) <= file_size,
        what + ": offset past end of file");
  if (length < 0) length = static_cast<int64_t>(file_size - offset);
  check(static_cast<uint64_t>(length) == expected_bytes,
        what + ": holds " + std::to_string(length) + " bytes, shape needs " +
            std::to_string(expected_bytes));
  check(static_cast<uint64_t>(offset + length) <= file_size, what + ": runs past end of file");
  std::ifstream in(full, std::ios::binary);
  in.seekg(offset);
  std::string bytes(static_cast<size_t>(length), '\0');
  in.read(bytes.data(), length);
  check(static_cast<bool>(in), what + ": read failed");
  return bytes;
}

template <typename Dst, typename Field>
void copy_field(const Field& field, Tensor& t, const std::string& name) {
  check(static_cast<int64_t>(field.size()) == t.numel(),
        "tensor '" + name + "': " + std::to_string(field.size()) + " values for shape " +
            shape_to_string(t.shape()));
  Dst* dst = t.data<Dst>();
  for (int i = 0; i < field.size(); ++i) dst[i] = static_cast<Dst>(field.Get(i));
}

}  // namespace

size_t tensor_proto_bytes(const onnx::TensorProto& proto) {
  const DType dtype = dtype_from_onnx(proto.data_type());
  check(dtype != DType::kUndefined, "tensor '" + proto.name() + "': data type " +
                                        std::to_string(proto.data_type()) + " is not supported");
  return claimed_bytes(proto.name(), dtype, Shape(proto.dims().begin(), proto.dims().end()));
}

uint8_t* ExternalBlob::range(uint64_t offset, uint64_t bytes, const std::string& what) const {
  check(offset <= size && bytes <= size - offset, what + " runs past the end of the plan");
  check(offset % 64 == 0, what + " is not aligned");
  return data + offset;
}

Tensor tensor_from_onnx(const onnx::TensorProto& proto, const std::filesystem::path& model_dir,
                        const ExternalBlob* blob) {
  DType dtype = dtype_from_onnx(proto.data_type());
  check(dtype != DType::kUndefined, "tensor '" + proto.name() + "': data type " +
                                        std::to_string(proto.data_type()) + " is not supported");
  Shape shape(proto.dims().begin(), proto.dims().end());
  const bool external = proto.data_location() == onnx::TensorProto::EXTERNAL;
  if (external && blob) {
    const ExternalRef ref = external_ref(proto);
    check(ref.location == kPlanBlobLocation, "tensor '" + proto.name() +
                                                 "': a plan's tensors live in the plan, not in '" +
                                                 ref.location + "'");
    return blob_tensor(proto, ref, *blob, dtype, std::move(shape));
  }
  // Sizes claimed by the file are checked before anything is allocated.
  const size_t needed = claimed_bytes(proto.name(), dtype, shape);
  if (external || proto.has_raw_data()) {
    std::string bytes = external ? read_external(proto, model_dir, needed) : proto.raw_data();
    check(bytes.size() == needed, "tensor '" + proto.name() + "': raw data holds " +
                                      std::to_string(bytes.size()) + " bytes, shape " +
                                      shape_to_string(shape) + " needs " + std::to_string(needed));
    Tensor t(dtype, shape);
    if (!bytes.empty()) std::memcpy(t.raw(), bytes.data(), bytes.size());
    return t;
  }
  const int64_t values = std::max({proto.float_data_size(), proto.double_data_size(),
                                   proto.int64_data_size(), proto.int32_data_size()});
  check(static_cast<uint64_t>(element_count(shape)) <= static_cast<uint64_t>(values),
        "tensor '" + proto.name() + "': " + std::to_string(values) + " values for shape " +
            shape_to_string(shape));
  Tensor t(dtype, shape);
  switch (dtype) {
    case DType::kFloat32:
      copy_field<float>(proto.float_data(), t, proto.name());
      break;
    case DType::kFloat64:
      copy_field<double>(proto.double_data(), t, proto.name());
      break;
    case DType::kInt64:
      copy_field<int64_t>(proto.int64_data(), t, proto.name());
      break;
    case DType::kInt32:
      copy_field<int32_t>(proto.int32_data(), t, proto.name());
      break;
    case DType::kInt8:
      copy_field<int8_t>(proto.int32_data(), t, proto.name());
      break;
    case DType::kUInt8:
      copy_field<uint8_t>(proto.int32_data(), t, proto.name());
      break;
    case DType::kBool:
      copy_field<bool>(proto.int32_data(), t, proto.name());
      break;
    case DType::kUndefined:
      break;
  }
  return t;
}

void tensor_to_onnx(const Tensor& t, onnx::TensorProto* proto) {
  proto->set_data_type(dtype_to_onnx(t.dtype()));
  proto->clear_dims();
  for (int64_t d : t.shape()) proto->add_dims(d);
  proto->set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
}

Tensor read_tensor_proto_file(const std::filesystem::path& path, std::string* name) {
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "cannot open " + path.string());
  onnx::TensorProto proto;
  check(proto.ParseFromIstream(&in), path.string() + ": not a serialized TensorProto");
  if (name) *name = proto.name();
  return tensor_from_onnx(proto, path.parent_path());
}

}  // namespace qdq
