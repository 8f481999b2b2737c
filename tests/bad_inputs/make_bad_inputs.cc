// Writes the bad-input suite: ONNX files that are malformed or semantically
// invalid, each beside the qexec flags that load it and the error it must
// produce. run_bad_inputs.sh feeds them to qexec. Made by code, not by hand,
// so every case says in one place what it breaks.
// usage: make_bad_inputs OUT_DIR   (writes OUT_DIR/*.onnx and OUT_DIR/cases.tsv)
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace {

namespace fs = std::filesystem;

void add_input(onnx::GraphProto* g, const std::string& name, int type, std::vector<int64_t> dims) {
  auto* v = g->add_input();
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

void add_output(onnx::GraphProto* g, const std::string& name) {
  auto* v = g->add_output();
  v->set_name(name);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in,
                          std::vector<std::string> out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + std::to_string(g->node_size()));
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
  return n;
}

onnx::TensorProto* add_floats(onnx::GraphProto* g, const std::string& name,
                              std::vector<int64_t> dims, std::vector<float> values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
  return t;
}

// x [1, 3, 4, 4] -> Conv (w [2, 3, 3, 3], pads 1) -> y: what the cases break.
onnx::ModelProto conv_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("bad");
  add_input(g, "input", onnx::TensorProto::FLOAT, {1, 3, 4, 4});
  add_floats(g, "w", {2, 3, 3, 3}, std::vector<float>(54, 0.1f));
  auto* conv = add_node(g, "Conv", {"input", "w"}, {"y"});
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  add_output(g, "y");
  return m;
}

// x -> QuantizeLinear(scale, zero point) -> DequantizeLinear -> y.
onnx::ModelProto qdq_model(float scale, int zero_type = onnx::TensorProto::UINT8, int axis = -1) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("bad_qdq");
  add_input(g, "input", onnx::TensorProto::FLOAT, {1, 3, 4, 4});
  // Per channel (3 channels) when an axis is given.
  const int64_t channels = axis == -1 ? 1 : 3;
  add_floats(g, "s", axis == -1 ? std::vector<int64_t>{} : std::vector<int64_t>{channels},
             std::vector<float>(static_cast<size_t>(channels), scale));
  auto* z = g->add_initializer();
  z->set_name("z");
  z->set_data_type(zero_type);
  if (axis != -1) z->add_dims(channels);
  for (int64_t c = 0; c < channels; ++c) z->add_int32_data(0);
  auto* q = add_node(g, "QuantizeLinear", {"input", "s", "z"}, {"q"});
  auto* dq = add_node(g, "DequantizeLinear", {"q", "s", "z"}, {"y"});
  if (axis != -1)
    for (auto* n : {q, dq}) {
      auto* a = n->add_attribute();
      a->set_name("axis");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(axis);
    }
  add_output(g, "y");
  return m;
}

std::string serialized(const onnx::ModelProto& m) { return m.SerializeAsString(); }

// The conv model with its weight's data in an external file at `location`.
std::string external_weight(const std::string& location) {
  auto m = conv_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value(location);
  return serialized(m);
}

struct Case {
  std::string name, flags, expected;
  std::function<std::string()> bytes;
};

// A weight whose dims claim 10 GiB, holding 4 bytes.
std::string claims_10_gb() {
  auto m = conv_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  w->clear_float_data();
  w->add_dims(2684354560);
  w->set_raw_data(std::string(4, '\0'));
  return serialized(m);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_bad_inputs OUT_DIR\n";
    return 1;
  }
  const fs::path out = argv[1];
  fs::create_directories(out);
  const std::string good = serialized(conv_model());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<Case> cases = {
      {"empty_file", "", "file is empty", [] { return std::string(); }},
      {"not_onnx", "", "protobuf parse failed",
       [] { return std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff garbage"); }},
      {"truncated", "", "protobuf parse failed", [&] { return good.substr(0, good.size() / 2); }},
      {"no_graph", "", "model has no graph",
       [] {
         onnx::ModelProto m;
         m.add_opset_import()->set_version(13);
         return serialized(m);
       }},
      {"empty_graph", "", "graph has no outputs",
       [] {
         onnx::ModelProto m;
         m.add_opset_import()->set_version(13);
         m.mutable_graph()->set_name("empty");
         return serialized(m);
       }},
      {"opset_from_the_future", "", "opset 99 is not supported",
       [] {
         auto m = conv_model();
         m.mutable_opset_import(0)->set_version(99);
         return serialized(m);
       }},
      {"cycle", "", "cycle",
       [] {
         auto m = conv_model();
         auto* g = m.mutable_graph();
         add_node(g, "Relu", {"b"}, {"a"});
         add_node(g, "Relu", {"a"}, {"b"});
         add_output(g, "b");
         return serialized(m);
       }},
      {"missing_initializer", "", "input 'w' is not defined",
       [] {
         auto m = conv_model();
         m.mutable_graph()->clear_initializer();
         return serialized(m);
       }},
      {"required_input_left_empty", "", "input 0 ('X') is required but left empty",
       [] {
         auto m = conv_model();
         add_node(m.mutable_graph(), "Relu", {""}, {"z"})->set_name("r");
         add_output(m.mutable_graph(), "z");
         return serialized(m);
       }},
      {"too_few_inputs", "", "Shape 's' has 0 inputs; opset 13 allows 1..1",
       [] {
         auto m = conv_model();
         add_node(m.mutable_graph(), "Shape", {}, {"z"})->set_name("s");
         add_output(m.mutable_graph(), "z");
         return serialized(m);
       }},
      {"produced_twice", "", "produced twice",
       [] {
         auto m = conv_model();
         add_node(m.mutable_graph(), "Relu", {"input"}, {"y"});
         return serialized(m);
       }},
      {"unsupported_op", "", "FrobnicateV2 'FrobnicateV2': operator is not supported",
       [] {
         auto m = conv_model();
         add_node(m.mutable_graph(), "FrobnicateV2", {"y"}, {"z"})->set_name("FrobnicateV2");
         add_output(m.mutable_graph(), "z");
         return serialized(m);
       }},
      {"dtype_mismatch", "", "Add",
       [] {
         auto m = conv_model();
         auto* g = m.mutable_graph();
         auto* c = g->add_initializer();
         c->set_name("c");
         c->set_data_type(onnx::TensorProto::INT64);
         c->add_int64_data(1);
         add_node(g, "Add", {"y", "c"}, {"z"});
         add_output(g, "z");
         return serialized(m);
       }},
      {"element_count_overflows_int64", "", "overflows int64",
       [] {
         auto m = conv_model();
         auto* w = m.mutable_graph()->mutable_initializer(0);
         w->clear_dims();
         w->add_dims(int64_t{1} << 40);
         w->add_dims(int64_t{1} << 40);
         return serialized(m);
       }},
      {"tensor_claims_10_gb", "", "more than the weight limit of 4096 MB",
       [] { return claims_10_gb(); }},
      {"tensor_claims_10_gb_under_a_raised_limit", "--maxWeightMB=65536",
       "shape [2684354560] needs 10737418240", [] { return claims_10_gb(); }},
      {"negative_dim", "", "negative dimension",
       [] {
         auto m = conv_model();
         m.mutable_graph()->mutable_initializer(0)->set_dims(0, -2);
         return serialized(m);
       }},
      {"scale_zero", "", "y_scale must be a positive normal float",
       [] { return serialized(qdq_model(0.0f)); }},
      {"scale_negative", "", "y_scale must be a positive normal float",
       [] { return serialized(qdq_model(-0.5f)); }},
      {"scale_nan", "", "y_scale must be a positive normal float",
       [&] { return serialized(qdq_model(nan)); }},
      {"scale_inf", "", "y_scale must be a positive normal float",
       [&] { return serialized(qdq_model(inf)); }},
      {"scale_denormal", "", "y_scale must be a positive normal float",
       [] { return serialized(qdq_model(1e-40f)); }},
      {"zero_point_wrong_type", "", "element type int32 is not supported",
       [] { return serialized(qdq_model(0.1f, onnx::TensorProto::INT32)); }},
      {"axis_out_of_range", "", "axis",
       [] { return serialized(qdq_model(0.1f, onnx::TensorProto::UINT8, 7)); }},
      {"external_data_escapes", "", "path escapes the model's folder",
       [] { return external_weight("../../../etc/passwd"); }},
      {"external_data_absolute", "", "absolute paths are refused",
       [] { return external_weight("/etc/passwd"); }},
      {"wrong_input_shape", "--shapes=input:1x3x5x5", "expected shape [1,3,4,4]",
       [&] { return good; }},
      {"int8_cache_without_images", "--int8 --calib=missing.cache", "calibration needs images",
       [&] { return good; }},
      {"weights_over_limit", "--maxWeightMB=1", "more than the weight limit of 1 MB",
       [] {
         auto m = conv_model();
         auto* w = m.mutable_graph()->mutable_initializer(0);
         w->clear_float_data();
         w->set_dims(0, 8192);  // 8192 x 3 x 3 x 3 floats: 0.9 MB, plus the next
         w->set_raw_data(std::string(8192 * 27 * 4, '\0'));
         add_floats(m.mutable_graph(), "extra", {65536}, std::vector<float>(65536, 1.0f));
         return serialized(m);
       }},
      {"activations_over_limit", "--shapes=input:64x3x256x256 --maxActivationMB=16",
       "the activation memory limit of 16 MB",
       [] {
         auto m = conv_model();  // any batch and size
         auto* shape = m.mutable_graph()
                           ->mutable_input(0)
                           ->mutable_type()
                           ->mutable_tensor_type()
                           ->mutable_shape();
         shape->mutable_dim(0)->set_dim_param("batch");
         shape->mutable_dim(2)->set_dim_param("height");
         shape->mutable_dim(3)->set_dim_param("width");
         return serialized(m);
       }},
  };
  std::ofstream tsv(out / "cases.tsv");
  for (const Case& c : cases) {
    const std::string bytes = c.bytes();
    std::ofstream(out / (c.name + ".onnx"), std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    tsv << c.name << "\t" << (c.flags.empty() ? "-" : c.flags) << "\t" << c.expected << "\n";
  }
  std::cout << cases.size() << " cases in " << out.string() << "\n";
  return 0;
}
