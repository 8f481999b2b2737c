#include "graph/onnx_export.h"

#include <algorithm>
#include <set>

#include "graph/onnx_tensor.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"

namespace qdq {
namespace {

// The libonnx we build against (1.12) checks IR versions up to 8; opset 17 and
// below need no newer IR.
constexpr int64_t kMaxCheckedIrVersion = 8;

void set_type(const Value& v, onnx::ValueInfoProto* info) {
  info->set_name(v.name);
  auto* tt = info->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype_to_onnx(v.dtype));
  if (!v.shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : *v.shape) {
    auto* dim = shape->add_dim();
    if (d.is_known())
      dim->set_dim_value(d.size);
    else if (!d.symbol.empty())
      dim->set_dim_param(d.symbol);
  }
}

void set_attribute(const std::string& name, const AttributeValue& value, onnx::AttributeProto* a) {
  a->set_name(name);
  std::visit(
      [a](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          a->set_type(onnx::AttributeProto::INT);
          a->set_i(v);
        } else if constexpr (std::is_same_v<T, float>) {
          a->set_type(onnx::AttributeProto::FLOAT);
          a->set_f(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          a->set_type(onnx::AttributeProto::STRING);
          a->set_s(v);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          a->set_type(onnx::AttributeProto::INTS);
          for (int64_t x : v) a->add_ints(x);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          a->set_type(onnx::AttributeProto::FLOATS);
          for (float x : v) a->add_floats(x);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          a->set_type(onnx::AttributeProto::STRINGS);
          for (const auto& x : v) a->add_strings(x);
        } else {
          a->set_type(onnx::AttributeProto::TENSOR);
          tensor_to_onnx(v, a->mutable_t());
        }
      },
      value);
}

}  // namespace

void export_onnx_proto(const Graph& graph, onnx::ModelProto* result) {
  onnx::ModelProto& model = *result;
  model.set_ir_version(std::clamp<int64_t>(graph.ir_version, 3, kMaxCheckedIrVersion));
  model.set_producer_name("qdq");
  model.set_producer_version(QDQ_VERSION);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(graph.opset);
  std::set<std::string> domains;
  for (Node* n : graph.nodes())
    if (!n->domain.empty()) domains.insert(n->domain);
  for (const std::string& d : domains) {  // contrib ops (com.microsoft.QLinearAdd): version 1
    auto* extra = model.add_opset_import();
    extra->set_domain(d);
    extra->set_version(1);
  }
  auto* g = model.mutable_graph();
  g->set_name(graph.name.empty() ? "qdq" : graph.name);
  for (const Value* v : graph.inputs()) set_type(*v, g->add_input());
  std::vector<const Value*> constants;
  for (Node* n : graph.topological_order()) {
    auto* np = g->add_node();
    np->set_op_type(n->op_type);
    np->set_name(n->name);
    if (!n->domain.empty()) np->set_domain(n->domain);
    for (const Value* in : n->inputs()) {
      np->add_input(in ? in->name : "");
      if (in && in->is_constant() &&
          std::find(constants.begin(), constants.end(), in) == constants.end())
        constants.push_back(in);
    }
    for (const Value* out : n->outputs()) {
      np->add_output(out->name);
      // Intermediate element types travel too, so a reader need not infer
      // them again (shapes not: the executor computes those).
      if (!out->is_graph_output && out->dtype != DType::kUndefined) {
        auto* info = g->add_value_info();
        info->set_name(out->name);
        info->mutable_type()->mutable_tensor_type()->set_elem_type(dtype_to_onnx(out->dtype));
      }
    }
    for (const auto& [name, value] : n->attributes.all())
      set_attribute(name, value, np->add_attribute());
  }
  for (const Value* v : graph.outputs()) {
    set_type(*v, g->add_output());
    if (v->is_constant() && std::find(constants.begin(), constants.end(), v) == constants.end())
      constants.push_back(v);
  }
  for (const Value* c : constants) {
    auto* t = g->add_initializer();
    tensor_to_onnx(*c->constant, t);
    t->set_name(c->name);
  }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    fail("the rewritten model fails the ONNX checker: " + msg.substr(0, msg.find('\n')),
         ErrorKind::kInternal);
  }
}

std::string export_onnx(const Graph& graph) {
  onnx::ModelProto model;
  export_onnx_proto(graph, &model);
  return model.SerializeAsString();
}

}  // namespace qdq
