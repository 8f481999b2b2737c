// Layer comparison: the INT8 engine of a Q/DQ block against the same block in
// reference semantics pairs channels-last tensors with their NCHW twins, and
// the measures are right on values worked out by hand.
#include "runtime/layer_comparison.h"

#include <gtest/gtest.h>

#include <cmath>

#include "pass_test_util.h"
#include "runtime/engine.h"

namespace qdq::testing {
namespace {

TensorRecorder record_run(const Graph& g, Engine* engine, const std::map<std::string, Tensor>& in) {
  TensorRecorder recorder;
  if (engine) {
    engine->executor.set_observer(recorder.observer());
    EXPECT_TRUE(engine->executor.run(in).is_ok());
  } else {
    auto ex = ReferenceExecutor::create(g);
    ex->set_observer(recorder.observer());
    EXPECT_TRUE(ex->run(in).is_ok());
  }
  return recorder;
}

TEST(LayerComparison, EngineAgainstItsQdqModel) {
  for (BlockStyle style : {BlockStyle::kQuantizedSum, BlockStyle::kFloatSum}) {
    const Graph model = qdq_residual_block(style);
    Graph g = qdq_residual_block(style);
    const auto sources = quantized_tensor_sources(g);
    auto engine = build_engine(g, EngineOptions{true, selected_isa(), {}, 0, {}});
    ASSERT_TRUE(engine.is_ok()) << engine.status().message();
    const std::map<std::string, Tensor> in = {{"x", random_floats({1, 8, 6, 6}, 7, 0.0f, 2.0f)}};
    const auto diffs = compare_tensors(record_run(g, &engine.value(), in).tensors(),
                                       record_run(model, nullptr, in).tensors(), sources);
    // The convolutions' outputs (channels-last in the engine) and the block
    // output are paired; integer results equal the Q/DQ simulation up to a
    // step where float rounding ties differ.
    ASSERT_GE(diffs.size(), 3u);
    for (const auto& d : diffs) {
      EXPECT_EQ(d.elements % 288, 0) << d.tensor;
      EXPECT_GT(d.sqnr_db, 30.0) << d.tensor;
      EXPECT_GT(d.cosine, 0.999) << d.tensor;
    }
  }
}

TEST(LayerComparison, MeasuresAndPairing) {
  auto tensor = [](std::vector<float> v, size_t order) {
    return RecordedTensor{nullptr, order, {static_cast<int64_t>(v.size())}, std::move(v)};
  };
  RecordedTensors engine, reference;
  engine.emplace("same", tensor({1, 2, 3}, 0));
  reference.emplace("same", tensor({1, 2, 3}, 0));
  engine.emplace("noisy", tensor({1.1f, 2, 3}, 1));
  reference.emplace("noisy", tensor({1, 2, 3}, 1));
  engine.emplace("y_q", tensor({3, 4}, 2));  // quantizes "y"
  reference.emplace("y", tensor({3, 0}, 2));
  engine.emplace("other_shape", tensor({1, 2}, 3));
  reference.emplace("other_shape", tensor({1, 2, 3}, 3));
  const auto diffs = compare_tensors(engine, reference, {{"y_q", "y"}});
  ASSERT_EQ(diffs.size(), 3u);
  EXPECT_EQ(diffs[0].tensor, "same");
  EXPECT_TRUE(std::isinf(diffs[0].sqnr_db));
  EXPECT_DOUBLE_EQ(diffs[0].cosine, 1.0);
  EXPECT_EQ(diffs[1].tensor, "noisy");
  EXPECT_NEAR(diffs[1].sqnr_db, 10 * std::log10(14.0 / (0.1f - 0.0) / (0.1f - 0.0) / 1.0), 1e-3);
  EXPECT_NEAR(diffs[1].max_abs_error, 0.1, 1e-6);
  EXPECT_EQ(diffs[2].tensor, "y");
  EXPECT_NEAR(diffs[2].cosine, 3.0 / 5.0, 1e-9);
  EXPECT_NEAR(diffs[2].max_abs_error, 4.0, 1e-9);
}

}  // namespace
}  // namespace qdq::testing
