// Plans: a saved engine loads back to the same outputs; every corruption of
// the file is refused, and a crafted file (checksum made to match) either is
// refused or runs without touching memory it must not (ASan checks that).
#include "runtime/plan.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "pass_test_util.h"
#include "runtime/inputs.h"
#include "runtime/kernels/qconv_pack.h"
#include "temp_path.h"

namespace qdq {
namespace {

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct SavedPlan {
  std::string bytes;
  std::map<std::string, Tensor> inputs;
  std::vector<Tensor> outputs;  // of the freshly built engine
};

// The integer residual block (two QConvs, one with the residual add fused),
// its convs grouped by `group`.
SavedPlan save_residual_block(Isa isa, std::map<std::string, ShapeRange> ranges = {},
                              int64_t group = 1) {
  Graph g = testing::qdq_residual_block(testing::BlockStyle::kQuantizedSum, group);
  Value* x = g.inputs()[0];
  const Shape shape = ranges.empty() ? *static_shape(*x->shape) : ranges.begin()->second.opt;
  if (!ranges.empty()) (*x->shape)[0] = Dim{-1, "N"};  // a dynamic batch
  auto engine = build_engine(g, EngineOptions{true, isa, std::move(ranges), 0, {}});
  EXPECT_TRUE(engine.is_ok()) << engine.status().message();
  SavedPlan saved;
  saved.bytes = serialize_plan(g, *engine, {{x->name, shape}});
  saved.inputs[x->name] = random_tensor(DType::kFloat32, shape, 5);
  auto out = engine->executor.run(saved.inputs);
  EXPECT_TRUE(out.is_ok());
  saved.outputs = out.value();
  return saved;
}

std::vector<Tensor> run_plan(const std::filesystem::path& path, Isa isa,
                             const std::map<std::string, Tensor>& inputs) {
  auto plan = load_plan(path, isa);
  EXPECT_TRUE(plan.is_ok()) << plan.status().message();
  auto out = plan->engine.executor.run(inputs);
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.value();
}

void expect_identical(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape());
    ASSERT_EQ(a[i].nbytes(), b[i].nbytes());
    EXPECT_EQ(std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()), 0);
  }
}

// Grouped convs (group 2) too: their packed state, here one group layer of
// both groups (4 outputs each).
TEST(Plan, RoundTripGivesIdenticalOutputsAtEveryKernelLevel) {
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512Vnni, Isa::kAmxInt8})
    for (const int64_t group : {1, 2}) {
      if (!isa_supported(isa)) continue;
      const SavedPlan saved = save_residual_block(isa, {}, group);
      const testing::TempPath file("block.plan");
      const auto& path = file.path();
      write_file(path, saved.bytes);
      auto plan = load_plan(path, isa);
      ASSERT_TRUE(plan.is_ok()) << plan.status().message();
      EXPECT_EQ(plan->engine.isa, isa);
      EXPECT_TRUE(plan->warnings.empty());
      int packed = 0;  // QConv weights come packed from the plan, a grouped conv's by group
      for (size_t i = 0; i < plan->engine.executor.layer_count(); ++i)
        if (const auto& state = plan->engine.executor.layer_state(i)) {
          ++packed;
          EXPECT_EQ(std::static_pointer_cast<QConvPacked>(state)->group_layers.size(),
                    group == 1 ? 0u : 1u);
        }
      EXPECT_EQ(packed, isa == Isa::kRef ? 0 : 2);
      auto out = plan->engine.executor.run(saved.inputs);
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      expect_identical(saved.outputs, out.value());
    }
}

TEST(Plan, SameGraphGivesTheSameBytes) {
  EXPECT_EQ(save_residual_block(best_isa()).bytes, save_residual_block(best_isa()).bytes);
}

TEST(Plan, LowerKernelLevelRunsTheSamePlanWithAWarning) {
  const SavedPlan saved = save_residual_block(best_isa());
  const testing::TempPath file("fallback.plan");
  const auto& path = file.path();
  write_file(path, saved.bytes);
  for (Isa isa : {Isa::kRef, Isa::kAvx2}) {
    if (isa >= best_isa()) continue;
    auto plan = load_plan(path, isa);
    ASSERT_TRUE(plan.is_ok()) << plan.status().message();
    EXPECT_EQ(plan->engine.isa, isa);
    ASSERT_EQ(plan->warnings.size(), 1u);
    EXPECT_NE(plan->warnings[0].find("which this CPU lacks"), std::string::npos);
    expect_identical(saved.outputs, run_plan(path, isa, saved.inputs));
  }
}

TEST(Plan, ShapeRangeIsEnforced) {
  const SavedPlan saved = save_residual_block(
      best_isa(), {{"x", ShapeRange{{1, 8, 6, 6}, {1, 8, 6, 6}, {3, 8, 6, 6}}}});
  const testing::TempPath file("range.plan");
  const auto& path = file.path();
  write_file(path, saved.bytes);
  auto plan = load_plan(path, best_isa());
  ASSERT_TRUE(plan.is_ok()) << plan.status().message();
  EXPECT_TRUE(
      plan->engine.executor.run({{"x", random_tensor(DType::kFloat32, {3, 8, 6, 6}, 1)}}).is_ok());
  auto too_big =
      plan->engine.executor.run({{"x", random_tensor(DType::kFloat32, {4, 8, 6, 6}, 1)}});
  ASSERT_FALSE(too_big.is_ok());
  EXPECT_NE(too_big.status().message().find("outside the plan's range 1x8x6x6 .. 3x8x6x6"),
            std::string::npos)
      << too_big.status().message();
}

TEST(Plan, RefusesEmptyTruncatedForeignAndFutureFiles) {
  const SavedPlan saved = save_residual_block(best_isa());
  const testing::TempPath file("bad.plan");
  const auto& path = file.path();
  auto refused = [&](const std::string& bytes, const std::string& why) {
    write_file(path, bytes);
    auto plan = load_plan(path, best_isa());
    ASSERT_FALSE(plan.is_ok()) << why;
    EXPECT_NE(plan.status().message().find(why), std::string::npos) << plan.status().message();
  };
  refused("", "file is empty");
  refused(saved.bytes.substr(0, 40), "not a qdq plan");
  refused(saved.bytes.substr(0, saved.bytes.size() - 1), "truncated");
  refused(saved.bytes + "x", "trailing bytes");
  refused(std::string(4096, 'Q'), "not a qdq plan");
  std::string future = saved.bytes;
  future[8] = static_cast<char>(kPlanFormatVersion + 1);
  refused(future, "plan format version " + std::to_string(kPlanFormatVersion + 1) +
                      "; this qdq reads version " + std::to_string(kPlanFormatVersion));
  std::string huge = saved.bytes;
  const uint64_t claimed = uint64_t{10} << 30;
  std::memcpy(huge.data() + 24, &claimed, 8);
  refused(huge, "truncated");
}

// Every byte of the file flipped in turn: the checksum (or, for the preamble,
// the magic, version, reserved and size checks) refuses each one.
TEST(Plan, EveryFlippedByteIsRefused) {
  const SavedPlan saved = save_residual_block(best_isa());
  const testing::TempPath file("flipped.plan");
  const auto& path = file.path();
  for (size_t i = 0; i < saved.bytes.size(); ++i) {
    std::string bytes = saved.bytes;
    bytes[i] = static_cast<char>(bytes[i] ^ 0xff);
    write_file(path, bytes);
    EXPECT_FALSE(load_plan(path, best_isa()).is_ok()) << "byte " << i;
  }
}

// A crafted plan: each byte after the preamble changed and the checksum made
// to match. Loading and running must end in an error or in outputs, never in
// a crash or an out-of-bounds access (run under ASan in CI).
TEST(Plan, CraftedBytesFailCleanly) {
  const SavedPlan saved = save_residual_block(best_isa());
  const testing::TempPath file("crafted.plan");
  const auto& path = file.path();
  int refused = 0, ran = 0;
  for (size_t i = 64; i < saved.bytes.size(); ++i) {
    std::string bytes = saved.bytes;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    const uint64_t sum = XXH3_64bits(bytes.data() + 64, bytes.size() - 64);
    std::memcpy(bytes.data() + 32, &sum, 8);
    write_file(path, bytes);
    auto plan = load_plan(path, best_isa());
    if (!plan.is_ok()) {
      ++refused;
      continue;
    }
    auto out = plan->engine.executor.run(saved.inputs);
    out.is_ok() ? ++ran : ++refused;
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(ran, 0);
}

}  // namespace
}  // namespace qdq
