// The importer on models built as protobufs in code: what it accepts, and the
// one clear error it gives for each kind of bad file.
#include "graph/onnx_import.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/onnx_tensor.h"
#include "onnx/onnx_pb.h"
#include "temp_path.h"

namespace qdq {
namespace {

onnx::ModelProto relu_model(int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  tt->mutable_shape()->add_dim()->set_dim_value(4);
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("relu");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

Result<ImportedModel> import(const onnx::ModelProto& m, const std::filesystem::path& dir = ".") {
  return import_onnx_bytes(m.SerializeAsString(), dir);
}

std::string error_of(const onnx::ModelProto& m, const std::filesystem::path& dir = ".") {
  auto r = import(m, dir);
  EXPECT_FALSE(r.is_ok());
  return r.is_ok() ? "" : r.status().message();
}

TEST(OnnxImport, ImportsValuesShapesAndSymbols) {
  auto r = import(relu_model());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  Graph& g = r->graph;
  EXPECT_EQ(g.opset, 13);
  ASSERT_EQ(g.inputs().size(), 1u);
  const Value* x = g.inputs()[0];
  ASSERT_TRUE(x->shape.has_value());
  EXPECT_EQ(symbolic_shape_to_string(*x->shape), "[N,4]");
  // Shape inference filled in the output.
  const Value* y = g.outputs()[0];
  EXPECT_EQ(y->dtype, DType::kFloat32);
  ASSERT_TRUE(y->shape.has_value());
  EXPECT_EQ(symbolic_shape_to_string(*y->shape), "[N,4]");
}

TEST(OnnxImport, NodesMayComeInAnyOrder) {
  auto m = relu_model();
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type("Abs");
  n->add_input("y");
  n->add_output("z");
  m.mutable_graph()->mutable_output(0)->set_name("z");
  m.mutable_graph()->mutable_node()->SwapElements(0, 1);
  auto r = import(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->graph.topological_order()[0]->op_type, "Relu");
}

TEST(OnnxImport, RejectsMalformedFiles) {
  EXPECT_NE(import_onnx_bytes("", ".").status().message().find("empty"), std::string::npos);
  EXPECT_NE(import_onnx_bytes("\xff\xff\xff\xff garbage", ".")
                .status()
                .message()
                .find("not an ONNX model"),
            std::string::npos);
}

TEST(OnnxImport, RejectsUnknownOpsetAndUndefinedInputs) {
  EXPECT_NE(error_of(relu_model(22)).find("opset 22 is not supported"), std::string::npos);
  auto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
  EXPECT_NE(error_of(m).find("input 'nowhere' is not defined"), std::string::npos);
  auto cyc = relu_model();
  auto* n = cyc.mutable_graph()->add_node();
  n->set_op_type("Abs");
  n->add_input("y");
  n->add_output("w");
  cyc.mutable_graph()->mutable_node(0)->set_input(0, "w");
  EXPECT_NE(error_of(cyc).find("cycle"), std::string::npos);
}

TEST(OnnxImport, RejectsRawDataOfTheWrongSize) {
  auto m = relu_model();
  auto* init = m.mutable_graph()->add_initializer();
  init->set_name("w");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(1000);
  init->set_raw_data(std::string(12, '\0'));
  EXPECT_NE(error_of(m).find("raw data holds 12 bytes"), std::string::npos);
  init->clear_dims();
  init->add_dims(int64_t{1} << 40);  // a claimed 4 TiB tensor
  init->add_dims(int64_t{1} << 40);
  EXPECT_NE(error_of(m).find("overflows"), std::string::npos);
}

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "model");
    std::ofstream(dir_ / "model" / "weights.bin", std::ios::binary)
        .write("\0\0\x80\x3f\0\0\0\x40", 8);  // 1.0f, 2.0f
    std::ofstream(dir_ / "outside.bin", std::ios::binary).write("\0\0\x80\x3f\0\0\0\x40", 8);
  }

  onnx::ModelProto model_with(const std::string& location) {
    auto m = relu_model();
    auto* init = m.mutable_graph()->add_initializer();
    init->set_name("w");
    init->set_data_type(onnx::TensorProto::FLOAT);
    init->add_dims(2);
    init->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = init->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    return m;
  }
  const testing::TempPath scratch_ = testing::TempPath::for_current_test("ext_");
  const std::filesystem::path dir_ = scratch_.path();
};

TEST_F(ExternalData, ReadsWeightsBesideTheModel) {
  auto r = import(model_with("weights.bin"), dir_ / "model");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const Tensor& w = *r->graph.find_value("w")->constant;
  EXPECT_EQ(w.data<float>()[0], 1.0f);
  EXPECT_EQ(w.data<float>()[1], 2.0f);
}

TEST_F(ExternalData, RefusesPathsThatEscapeTheModelFolder) {
  EXPECT_NE(
      error_of(model_with("../outside.bin"), dir_ / "model").find("escapes the model's folder"),
      std::string::npos);
  EXPECT_NE(
      error_of(model_with((dir_ / "outside.bin").string()), dir_ / "model").find("absolute paths"),
      std::string::npos);
  EXPECT_NE(error_of(model_with("missing.bin"), dir_ / "model").find("cannot open"),
            std::string::npos);
}

TEST(OnnxTensor, RoundTripsThroughTensorProto) {
  Tensor t = Tensor::from_vector<int8_t>({2, 2}, {-128, -1, 0, 127});
  onnx::TensorProto p;
  tensor_to_onnx(t, &p);
  Tensor back = tensor_from_onnx(p, ".");
  EXPECT_EQ(back.shape(), t.shape());
  EXPECT_EQ(back.dtype(), DType::kInt8);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(back.data<int8_t>()[i], t.data<int8_t>()[i]);
}

}  // namespace
}  // namespace qdq
