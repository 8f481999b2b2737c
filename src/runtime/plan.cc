#include "runtime/plan.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/onnx_tensor.h"
#include "onnx/onnx_pb.h"
#include "passes/fusion_explainer.h"
#include "plan.pb.h"
#include "runtime/kernels/qconv_pack.h"
#include "runtime/reference/registry.h"
#include "support/mapped_file.h"

namespace qdq {
namespace {

constexpr char kMagic[8] = {'Q', 'D', 'Q', 'P', 'L', 'A', 'N', '\x1a'};
constexpr size_t kPreamble = 64;   // magic, version, sizes, checksum (plan.proto)
constexpr size_t kAlignment = 64;  // of the blob and of everything in it
// Initializers at least this large go to the blob; smaller ones stay inline.
constexpr size_t kBlobThreshold = 256;

size_t aligned(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

void put_u32(std::string& s, size_t at, uint32_t v) { std::memcpy(s.data() + at, &v, 4); }
void put_u64(std::string& s, size_t at, uint64_t v) { std::memcpy(s.data() + at, &v, 8); }
uint32_t get_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

class BlobWriter {
 public:
  plan::BlobRange add(const void* data, size_t bytes) {
    bytes_.resize(aligned(bytes_.size()), '\0');
    plan::BlobRange range;
    range.set_offset(bytes_.size());
    range.set_size(bytes);
    bytes_.append(static_cast<const char*>(data), bytes);
    return range;
  }
  std::string take() {
    bytes_.resize(aligned(bytes_.size()), '\0');
    return std::move(bytes_);
  }

 private:
  std::string bytes_;
};

bool is_qconv(const Node& n) { return n.domain == "ai.qdq" && n.op_type == "QConv"; }

// A dim's range: fixed where the model fixes it, else the range given (or any).
plan::Io describe_io(const Value& v, const ShapeRange* range, const Shape* opt) {
  plan::Io io;
  io.set_name(v.name);
  io.set_onnx_type(dtype_to_onnx(v.dtype));
  const size_t rank = opt ? opt->size() : v.shape ? v.shape->size() : 0;
  for (size_t d = 0; d < rank; ++d) {
    auto* dim = io.add_dims();
    const bool known = v.shape && d < v.shape->size() && (*v.shape)[d].is_known();
    const int64_t size = known ? (*v.shape)[d].size : -1;
    dim->set_opt(opt ? (*opt)[d] : size);
    dim->set_min(range ? range->min[d] : known ? size : 0);
    dim->set_max(range ? range->max[d] : size);
  }
  return io;
}

plan::QConvState describe_qconv(const QConvPacked& p, BlobWriter& blob) {
  plan::QConvState s;
  s.set_unsigned_domain(p.domain == ActivationDomain::kUnsigned);
  s.set_flip(p.flip);
  s.set_a_zero(p.a_zero);
  s.set_k(p.k);
  s.set_k_padded(p.k_padded);
  s.set_blocks(p.blocks);
  *s.mutable_weights() = blob.add(p.weights.data(), p.weights.size());
  *s.mutable_depthwise_weights() =
      blob.add(p.depthwise_weights.data(), p.depthwise_weights.size() * sizeof(int32_t));
  *s.mutable_bias() = {p.bias.begin(), p.bias.end()};
  *s.mutable_multipliers() = {p.multipliers.begin(), p.multipliers.end()};
  *s.mutable_bias_float() = {p.bias_float.begin(), p.bias_float.end()};
  s.set_finite_multipliers(p.finite_multipliers);
  for (const QConvPacked& layer : p.group_layers)
    *s.add_group_layers() = describe_qconv(layer, blob);
  return s;
}

// A blob range as a typed array (the blob checks where it lies).
template <typename T>
SharedArray<T> blob_array(const plan::BlobRange& r, const ExternalBlob& blob,
                          const std::string& what) {
  check(r.size() % sizeof(T) == 0, [&] { return what + " is not a whole number of elements"; });
  return SharedArray<T>(blob.owner,
                        reinterpret_cast<const T*>(blob.range(r.offset(), r.size(), what)),
                        r.size() / sizeof(T));
}

std::shared_ptr<QConvPacked> restore_qconv(const plan::QConvState& s, const ExternalBlob& blob,
                                           const std::string& layer) {
  auto p = std::make_shared<QConvPacked>();
  p->packed = true;
  p->domain = s.unsigned_domain() ? ActivationDomain::kUnsigned : ActivationDomain::kSigned;
  p->flip = s.flip();
  p->a_zero = s.a_zero();
  p->k = s.k();
  p->k_padded = s.k_padded();
  p->blocks = s.blocks();
  p->weights = blob_array<int8_t>(s.weights(), blob, layer + ": packed weights");
  p->depthwise_weights = blob_array<int32_t>(s.depthwise_weights(), blob, layer + ": weights");
  p->bias.assign(s.bias().begin(), s.bias().end());
  p->multipliers.assign(s.multipliers().begin(), s.multipliers().end());
  p->bias_float.assign(s.bias_float().begin(), s.bias_float().end());
  p->finite_multipliers = s.finite_multipliers();
  for (const plan::QConvState& group : s.group_layers()) {
    check(group.group_layers().empty(), [&] { return layer + ": group layers within a group's"; });
    p->group_layers.push_back(std::move(*restore_qconv(group, blob, layer)));
  }
  return p;
}

ShapeRange read_range(const plan::Io& io, const Value& input) {
  const std::string what = "plan input '" + io.name() + "'";
  check(io.dims_size() <= 8, [&] { return what + ": too many dims"; });
  check(!input.shape || input.shape->size() == static_cast<size_t>(io.dims_size()),
        [&] { return what + ": rank does not match the model"; });
  ShapeRange r;
  for (const auto& d : io.dims()) {
    check(d.min() >= 0 && d.opt() >= d.min() && (d.max() < 0 || d.opt() <= d.max()),
          [&] { return what + ": bad shape range"; });
    r.min.push_back(d.min());
    r.opt.push_back(d.opt());
    r.max.push_back(d.max());
  }
  return r;
}

}  // namespace

std::string serialize_plan(const Graph& graph, Engine& engine,
                           const std::map<std::string, Shape>& opt_shapes) {
  // The run that packs the weights. Zeros are valid data for image models;
  // where they are not (a graph input that is a scale), the plan simply
  // carries no packed weights and the first run after loading packs them.
  std::map<std::string, Tensor> zeros;
  for (const Value* v : graph.inputs()) zeros[v->name] = Tensor(v->dtype, opt_shapes.at(v->name));
  (void)engine.executor.run(zeros);

  plan::Plan header;
  header.set_producer(std::string("qdq ") + QDQ_VERSION);
  header.set_int8(engine.int8);
  header.set_isa(isa_name(engine.isa));
  for (const std::string& f : isa_cpu_features(engine.isa)) header.add_required_cpu_features(f);
  const auto& ranges = engine.executor.input_ranges();
  for (const Value* v : graph.inputs()) {
    auto range = ranges.find(v->name);
    *header.add_inputs() =
        describe_io(*v, range == ranges.end() ? nullptr : &range->second, &opt_shapes.at(v->name));
  }
  for (const Value* v : graph.outputs()) *header.add_outputs() = describe_io(*v, nullptr, nullptr);

  BlobWriter blob;
  onnx::ModelProto model;
  export_onnx_proto(graph, &model);
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    if (init.raw_data().size() < kBlobThreshold) continue;
    const plan::BlobRange range = blob.add(init.raw_data().data(), init.raw_data().size());
    init.clear_raw_data();
    init.set_data_location(onnx::TensorProto::EXTERNAL);
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"location", kPlanBlobLocation},
          {"offset", std::to_string(range.offset())},
          {"length", std::to_string(range.size())}}) {
      auto* kv = init.add_external_data();
      kv->set_key(key);
      kv->set_value(value);
    }
  }
  header.set_model(model.SerializeAsString());

  const auto kernels = engine.executor.layer_kernels();
  for (size_t i = 0; i < kernels.size(); ++i) {
    const Node& node = *kernels[i].node;
    plan::Layer* layer = header.add_layers();
    layer->set_name(node.name);
    layer->set_kernel(kernel_key(node.domain, node.op_type));
    layer->set_kernel_isa(isa_name(kernels[i].ran.isa));
    const auto& state = engine.executor.layer_state(i);
    if (is_qconv(node) && kernels[i].ran.isa != Isa::kRef && state) {
      const auto& packed = *std::static_pointer_cast<QConvPacked>(state);
      if (packed.packed) *layer->mutable_qconv() = describe_qconv(packed, blob);
    }
  }
  header.set_activation_bytes(engine.executor.peak_activation_bytes());
  header.set_weight_bytes(engine.executor.weight_bytes());

  const std::string header_bytes = header.SerializeAsString();
  const std::string blob_bytes = blob.take();
  std::string file(kPreamble, '\0');
  std::memcpy(file.data(), kMagic, sizeof kMagic);
  put_u32(file, 8, kPlanFormatVersion);
  put_u64(file, 16, header_bytes.size());
  put_u64(file, 24, blob_bytes.size());
  file += header_bytes;
  file.resize(kPreamble + aligned(header_bytes.size()), '\0');
  file += blob_bytes;
  put_u64(file, 32, XXH3_64bits(file.data() + kPreamble, file.size() - kPreamble));
  return file;
}

Result<LoadedPlan> load_plan(const std::filesystem::path& path, Isa cpu_isa,
                             size_t max_activation_bytes) {
  auto mapped = MappedFile::open(path);
  if (!mapped.is_ok()) return mapped.status();
  auto result = catch_errors([&]() -> LoadedPlan {
    const std::shared_ptr<MappedFile> file = mapped.value();
    const uint8_t* p = file->data();
    const size_t size = file->size();
    check(size >= kPreamble && std::memcmp(p, kMagic, sizeof kMagic) == 0,
          "not a qdq plan (no plan header; build one with qexec --saveEngine)");
    const uint32_t version = get_u32(p + 8);
    check(version == kPlanFormatVersion, [&] {
      return "plan format version " + std::to_string(version) + "; this qdq reads version " +
             std::to_string(kPlanFormatVersion) + " (rebuild the plan with this qdq)";
    });
    check(get_u32(p + 12) == 0 &&
              std::all_of(p + 40, p + kPreamble, [](uint8_t b) { return b == 0; }),
          "plan is corrupt (reserved header bytes are set)");
    const uint64_t header_bytes = get_u64(p + 16), blob_bytes = get_u64(p + 24);
    check(
        header_bytes <= size && blob_bytes <= size &&
            kPreamble + aligned(header_bytes) + blob_bytes == size,
        [&] {
          return "plan is truncated or has trailing bytes (sizes in its header do not add up to " +
                 std::to_string(size) + " bytes)";
        });
    check(XXH3_64bits(p + kPreamble, size - kPreamble) == get_u64(p + 32),
          "plan is corrupt (checksum mismatch)");

    plan::Plan header;
    check(header.ParseFromArray(p + kPreamble, static_cast<int>(header_bytes)),
          "plan header does not parse");
    const auto built = isa_from_name(header.isa());
    check(built.has_value(),
          [&] { return "plan needs kernel level '" + header.isa() + "', unknown to this qdq"; });
    std::vector<std::string> warnings;
    const Isa run_isa = runnable_isa(std::min(*built, cpu_isa));
    if (run_isa < *built)
      warnings.push_back("the plan was built for " + std::string(isa_name(*built)) +
                         ", which this CPU lacks: running " + isa_name(run_isa) +
                         " kernels (weights packed again at the first run)");

    ExternalBlob blob{std::shared_ptr<void>(file, file->data()),
                      file->data() + kPreamble + aligned(header_bytes), blob_bytes};
    ImportOptions import_options;
    import_options.run_shape_inference = false;
    import_options.blob = &blob;
    auto imported = import_onnx_bytes(header.model(), "", import_options);
    if (!imported.is_ok())
      throw Error("plan's graph: " + imported.status().message(), imported.status().kind());
    auto graph_owner = std::make_unique<Graph>(std::move(imported->graph));
    const Graph& graph = *graph_owner;
    std::map<std::string, Shape> opt_shapes;

    ExecutorOptions options{run_isa, {}, max_activation_bytes};
    check(header.inputs_size() == static_cast<int>(graph.inputs().size()),
          "plan's inputs do not match its graph");
    for (int i = 0; i < header.inputs_size(); ++i) {
      const Value& input = *graph.inputs()[static_cast<size_t>(i)];
      check(header.inputs(i).name() == input.name, "plan's inputs do not match its graph");
      ShapeRange range = read_range(header.inputs(i), input);
      opt_shapes[input.name] = range.opt;
      options.input_ranges[input.name] = std::move(range);
    }
    auto executor = ReferenceExecutor::create(graph, options);
    if (!executor.is_ok())
      throw Error("plan's graph: " + executor.status().message(), executor.status().kind());
    Engine engine{std::move(executor.value()), {}, {}, 0, options.isa, header.int8()};
    ReferenceExecutor& ex = engine.executor;
    const auto kernels = ex.layer_kernels();
    check(header.layers_size() == static_cast<int>(kernels.size()),
          "plan's layer list does not match its graph");
    for (size_t i = 0; i < kernels.size(); ++i) {
      const Node& node = *kernels[i].node;
      const plan::Layer& layer = header.layers(static_cast<int>(i));
      check(layer.name() == node.name && layer.kernel() == kernel_key(node.domain, node.op_type),
            [&] { return "plan's layer " + std::to_string(i) + " does not match its graph"; });
      if (layer.has_qconv() && is_qconv(node))
        ex.layer_state(i) = restore_qconv(layer.qconv(), blob, node.describe());
      engine.int8_layers += is_integer_layer(node);
    }
    return LoadedPlan{std::move(graph_owner), std::move(engine),  header.producer(), *built,
                      std::move(opt_shapes),  std::move(warnings)};
  });
  if (!result.is_ok())
    return Status(path.string() + ": " + result.status().message(), result.status().kind());
  return result;
}

}  // namespace qdq
