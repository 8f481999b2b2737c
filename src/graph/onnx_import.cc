#include "graph/onnx_import.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "graph/onnx_shape_inference.h"
#include "graph/onnx_tensor.h"
#include "graph/verifier.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"

namespace qdq {
namespace {

AttributeValue attribute_from_onnx(const onnx::AttributeProto& a, const std::filesystem::path& dir,
                                   const ExternalBlob* blob) {
  switch (a.type()) {
    case onnx::AttributeProto::INT:
      return a.i();
    case onnx::AttributeProto::FLOAT:
      return a.f();
    case onnx::AttributeProto::STRING:
      return a.s();
    case onnx::AttributeProto::INTS:
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS:
      return std::vector<float>(a.floats().begin(), a.floats().end());
    case onnx::AttributeProto::STRINGS:
      return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case onnx::AttributeProto::TENSOR:
      return tensor_from_onnx(a.t(), dir, blob);
    default:
      fail("attribute '" + a.name() + "' has a type we do not support (" +
               std::to_string(a.type()) + ")",
           ErrorKind::kUnsupported);
  }
}

void apply_type(Value* v, const onnx::TypeProto& type) {
  if (!type.has_tensor_type()) return;
  const auto& tt = type.tensor_type();
  if (v->dtype == DType::kUndefined) v->dtype = dtype_from_onnx(tt.elem_type());
  if (!tt.has_shape() || v->shape) return;
  v->shape = shape_from_onnx(tt.shape());
}

int64_t default_domain_opset(const onnx::ModelProto& model) {
  for (const auto& op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") return op.version();
  fail("model imports no opset of the default ONNX domain");
}

// The passes read a default-domain node's required inputs without checking
// them: a node that leaves one out (an empty name) or has too many or too few
// is refused here, by its ONNX schema. Ops libonnx does not know are left to
// the executor's own checks.
void check_node_arity(const onnx::NodeProto& node, int64_t opset) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") return;
  const onnx::OpSchema* schema =
      onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(opset), "");
  if (!schema) return;
  const std::string what = node.op_type() + " '" + node.name() + "'";
  const int inputs = node.input_size(), outputs = node.output_size();
  check(inputs >= schema->min_input() && inputs <= schema->max_input(),
        what + " has " + std::to_string(inputs) + " inputs; opset " + std::to_string(opset) +
            " allows " + std::to_string(schema->min_input()) + ".." +
            std::to_string(schema->max_input()));
  check(outputs >= schema->min_output() && outputs <= schema->max_output(),
        what + " has " + std::to_string(outputs) + " outputs; opset " + std::to_string(opset) +
            " allows " + std::to_string(schema->min_output()) + ".." +
            std::to_string(schema->max_output()));
  const auto& formal = schema->inputs();
  for (int i = 0; i < inputs && !formal.empty(); ++i) {
    const auto& param = formal[std::min<size_t>(static_cast<size_t>(i), formal.size() - 1)];
    check(!node.input(i).empty() || param.GetOption() == onnx::OpSchema::Optional,
          what + ": input " + std::to_string(i) + " ('" + param.GetName() +
              "') is required but left empty");
  }
}

ImportedModel build_graph(onnx::ModelProto& model, const std::filesystem::path& dir,
                          const ImportOptions& options) {
  ImportedModel out;
  check(model.has_graph(), "model has no graph");
  Graph& g = out.graph;
  g.opset = default_domain_opset(model);
  g.ir_version = model.ir_version();
  g.producer = model.producer_name() +
               (model.producer_version().empty() ? "" : " " + model.producer_version());
  check(g.opset >= kMinOpset && g.opset <= kMaxOpset,
        "opset " + std::to_string(g.opset) + " is not supported (supported: " +
            std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset) + ")",
        ErrorKind::kUnsupported);

  if (options.run_shape_inference) {
    try {
      for (const auto& node : model.graph().node())
        if (options.trusted_op && !options.trusted_op(node.domain(), node.op_type()))
          throw std::runtime_error("op " + node.op_type() + " is not one qdq runs");
      infer_shapes_guarded(model);
    } catch (const std::exception& e) {
      // Not fatal: older libonnx lacks schemas for new opsets; the executor
      // computes every shape at run time anyway.
      std::string msg = e.what();
      out.warnings.push_back("ONNX shape inference did not complete: " +
                             msg.substr(0, msg.find('\n')));
    }
  }

  const onnx::GraphProto& gp = model.graph();
  g.name = gp.name();
  if (options.max_weight_bytes) {
    size_t weights = 0;
    for (const auto& init : gp.initializer()) {
      weights += tensor_proto_bytes(init);
      check(weights <= options.max_weight_bytes,
            "the initializers claim more than the weight limit of " +
                std::to_string(options.max_weight_bytes >> 20) +
                " MB (raise it with --maxWeightMB)");
    }
  }
  for (const auto& init : gp.initializer()) {
    check(!init.name().empty(), "an initializer has no name");
    g.add_constant(init.name(), tensor_from_onnx(init, dir, options.blob));
  }
  for (const auto& in : gp.input()) {
    if (Value* existing = g.find_value(in.name())) {
      // IR < 4 lists initializers as inputs too: they stay constants.
      apply_type(existing, in.type());
      continue;
    }
    Value* v = g.add_value(in.name());
    apply_type(v, in.type());
    check(v->dtype != DType::kUndefined, "graph input '" + in.name() + "' has an unsupported type");
    g.add_input(v);
  }
  auto get_or_add = [&g](const std::string& name) {
    Value* v = g.find_value(name);
    return v ? v : g.add_value(name);
  };
  // Outputs first, so a node referencing a value before its producer (ONNX files
  // need not be sorted) is resolved once everything is declared.
  for (const auto& node : gp.node())
    for (const auto& o : node.output())
      if (!o.empty()) {
        Value* v = g.find_value(o);
        check(v == nullptr || (!v->is_constant() && !v->is_graph_input && !v->producer),
              "value '" + o + "' is produced twice");
        if (!v) g.add_value(o);
      }
  for (const auto& node : gp.node()) {
    check_node_arity(node, g.opset);
    std::vector<Value*> inputs, outputs;
    for (const auto& i : node.input()) {
      if (i.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      Value* v = g.find_value(i);
      check(v != nullptr,
            node.op_type() + " '" + node.name() + "': input '" + i + "' is not defined");
      inputs.push_back(v);
    }
    for (const auto& o : node.output()) outputs.push_back(o.empty() ? nullptr : get_or_add(o));
    // Optional outputs left empty: give them a private name so the IR has no holes.
    for (size_t k = 0; k < outputs.size(); ++k)
      if (!outputs[k])
        outputs[k] = g.add_value(node.name() + "/unused_output_" + std::to_string(k) + "_" +
                                 std::to_string(g.node_count()));
    Node* n = g.add_node(node.op_type(), inputs, outputs, node.name());
    n->domain = node.domain() == "ai.onnx" ? "" : node.domain();
    for (const auto& a : node.attribute())
      n->attributes.set(a.name(), attribute_from_onnx(a, dir, options.blob));
  }
  for (const auto& vi : gp.value_info())
    if (Value* v = g.find_value(vi.name())) apply_type(v, vi.type());
  for (const auto& o : gp.output()) {
    Value* v = g.find_value(o.name());
    check(v != nullptr, "graph output '" + o.name() + "' is not produced by any node");
    apply_type(v, o.type());
    g.add_output(v);
  }
  check(!g.outputs().empty(), "graph has no outputs");
  verify_graph(g);
  return out;
}

}  // namespace

Result<ImportedModel> import_onnx_bytes(std::string_view bytes,
                                        const std::filesystem::path& model_dir,
                                        const ImportOptions& options) {
  return catch_errors([&]() -> ImportedModel {
    check(!bytes.empty(), "file is empty");
    check(bytes.size() < (size_t{2} << 30), "file is larger than protobuf's 2 GiB limit");
    onnx::ModelProto model;
    check(model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
          "not an ONNX model (protobuf parse failed)");
    return build_graph(model, model_dir, options);
  });
}

Result<ImportedModel> import_onnx_file(const std::filesystem::path& path,
                                       const ImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status("cannot open " + path.string(), ErrorKind::kInvalidInput);
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto r = import_onnx_bytes(buffer.str(), path.parent_path(), options);
  if (!r.is_ok()) return Status(path.string() + ": " + r.status().message(), r.status().kind());
  return r;
}

}  // namespace qdq
