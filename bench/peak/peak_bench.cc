// The machine's multiply-add peak per instruction path (register-only loops,
// 1 thread and every core), and what qdq's INT8 convolution kernel achieves on
// ResNet-50's layer shapes (and grouped ones) as a fraction of its level's
// peak on every core.
// Google Benchmark; bench/peak.sh runs it and writes the tables.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "graph/builder.h"
#include "peak_loops.h"
#include "runtime/engine.h"

namespace qdq::bench {
namespace {

constexpr int64_t kLoopIterations = 1 << 15;

void peak(benchmark::State& state, const PeakLoop* loop, int threads) {
  int64_t macs = 0;
  for (auto _ : state) {
    int64_t done = 0;
#pragma omp parallel num_threads(threads) reduction(+ : done)
    done += loop->run(kLoopIterations);
    macs += done;
  }
  state.counters["MAC/s"] =
      benchmark::Counter(static_cast<double>(macs), benchmark::Counter::kIsRate);
}

// One convolution: channels in/out, kernel, stride, input side, groups, batch.
struct ConvShape {
  const char* name;
  int64_t c, m, k, stride, side, group = 1, batch = 1;
};
const ConvShape kConvShapes[] = {
    {"conv1_7x7s2_3-64_224", 3, 64, 7, 2, 224},
    {"3x3_64_56", 64, 64, 3, 1, 56},
    {"3x3_128_28", 128, 128, 3, 1, 28},
    {"3x3_256_14", 256, 256, 3, 1, 14},
    {"3x3_512_7", 512, 512, 3, 1, 7},
    {"1x1_64-256_56", 64, 256, 1, 1, 56},
    {"1x1_256-64_56", 256, 64, 1, 1, 56},
    {"1x1_512-128_28", 512, 128, 1, 1, 28},
    {"1x1_256-1024_14", 256, 1024, 1, 1, 14},
    {"1x1_1024-256_14", 1024, 256, 1, 1, 14},
    {"1x1_2048-512_7", 2048, 512, 1, 1, 7},
    {"1x1_512-2048_7", 512, 2048, 1, 1, 7},
    // ResNeXt-50 32x4d's grouped 3x3 layers (4 to 32 channels a group, a
    // group layer each: QConvPacked::group_layers) and a RegNetX-400MF one
    // (16 a group).
    {"3x3g32_128_56", 128, 128, 3, 1, 56, 32},
    {"3x3g32_256_28", 256, 256, 3, 1, 28, 32},
    {"3x3g32_512_14", 512, 512, 3, 1, 14, 32},
    {"3x3g32_1024_7", 1024, 1024, 3, 1, 7, 32},
    {"3x3g10_160_14", 160, 160, 3, 1, 14, 10},
    // At batch 32, where the CIFAR-size models lag most against ONNX Runtime on
    // AVX2: the ResNets' RGB stem (3 -> 16, in 16-bit words), then
    // MobileNetV2's 1x1 layers (short K, few channels).
    {"3x3_3-16_32_b32", 3, 16, 3, 1, 32, 1, 32},
    {"1x1_32-16_32_b32", 32, 16, 1, 1, 32, 1, 32},
    {"1x1_24-144_32_b32", 24, 144, 1, 1, 32, 1, 32},
    {"1x1_144-24_32_b32", 144, 24, 1, 1, 32, 1, 32},
    {"1x1_192-32_16_b32", 192, 32, 1, 1, 16, 1, 32},
    {"1x1_96-576_8_b32", 96, 576, 1, 1, 8, 1, 32},
    {"1x1_576-96_8_b32", 576, 96, 1, 1, 8, 1, 32},
};

// How the layer's bias comes: quantize_static's int32 bias behind a
// DequantizeLinear (scale x_scale * w_scale: an exact integer epilogue), or
// TensorRT-style QAT's float bias (BatchNorm folded in by the passes: the
// float epilogue, divided by the output's scale).
enum class BiasForm { kPtqInt32, kQatFloat };

// DQ(Q(x)) -> Conv(DQ(w int8 per channel), bias) -> Relu -> Q -> DQ: a ResNet
// layer as either quantizer writes it; the engine makes it one QConv.
Graph conv_layer(const ConvShape& s, BiasForm bias_form) {
  GraphBuilder b(13);
  constexpr float kXScale = 0.05f, kWScale = 1e-3f;
  Value* x = b.input("x", DType::kFloat32, {s.batch, s.c, s.side, s.side});
  Value* xs = b.constant("xs", Tensor::scalar<float>(kXScale));
  Value* xz = b.constant("xz", Tensor::scalar<uint8_t>(0));
  Value* x_dq = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, xs, xz}), xs, xz});
  std::mt19937 rng(1);
  Tensor w(DType::kInt8, {s.m, s.c / s.group, s.k, s.k});
  // As per-channel quantization leaves a trained layer's: bell-shaped, its
  // largest (about 4 deviations out) at 127. The AVX2 tiles pair K quads by
  // their weights (QConvPacked::quad_pairs), so the values matter there.
  std::normal_distribution<float> weight(0.0f, 127.0f / 4);
  for (int64_t i = 0; i < w.numel(); ++i)
    w.data<int8_t>()[i] =
        static_cast<int8_t>(std::clamp(std::nearbyint(weight(rng)), -127.0f, 127.0f));
  Tensor ws(DType::kFloat32, {s.m}), bias_scale(DType::kFloat32, {s.m});
  Tensor bias_int(DType::kInt32, {s.m}), bias_float(DType::kFloat32, {s.m});
  std::uniform_int_distribution<int32_t> bias(-2000, 2000);
  for (int64_t i = 0; i < s.m; ++i) {
    ws.data<float>()[i] = kWScale;
    bias_scale.data<float>()[i] = kXScale * kWScale;
    bias_int.data<int32_t>()[i] = bias(rng);
    bias_float.data<float>()[i] =
        static_cast<float>(bias_int.data<int32_t>()[i]) * kXScale * kWScale;
  }
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* w_dq = b.op("DequantizeLinear",
                     {b.constant("w", std::move(w)), b.constant("ws", std::move(ws)),
                      b.constant("wz", Tensor(DType::kInt8, {s.m}))},
                     axis0);
  Value* bias_value =
      bias_form == BiasForm::kQatFloat
          ? b.constant("b", std::move(bias_float))
          : b.op("DequantizeLinear",
                 {b.constant("b", std::move(bias_int)), b.constant("bs", std::move(bias_scale)),
                  b.constant("bz", Tensor(DType::kInt32, {s.m}))},
                 axis0);
  Attributes conv;
  conv.set("kernel_shape", std::vector<int64_t>{s.k, s.k});
  conv.set("strides", std::vector<int64_t>{s.stride, s.stride});
  const int64_t pad = s.k / 2;
  conv.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  conv.set("group", s.group);
  Value* y = b.op("Relu", {b.op("Conv", {x_dq, w_dq, bias_value}, conv)});
  Value* ys = b.constant("ys", Tensor::scalar<float>(0.1f));
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {y, ys, xz}), ys, xz}));
  return b.build();
}

int64_t conv_multiply_adds(const ConvShape& s) {
  const int64_t out = (s.side + 2 * (s.k / 2) - s.k) / s.stride + 1;
  return s.batch * out * out * s.m * (s.c / s.group) * s.k * s.k;
}

// The convolution layer alone (the profile's QConv time); bench/peak.sh
// divides by the peak of the level's int8 loop on every core.
void qconv(benchmark::State& state, const ConvShape* shape, BiasForm bias_form) {
  Graph g = conv_layer(*shape, bias_form);
  auto engine = build_engine(g, EngineOptions{true, selected_isa(), {}, 0, {}});
  if (!engine.is_ok()) {
    state.SkipWithError(engine.status().message().c_str());
    return;
  }
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> pixel(0.0f, 4.0f);
  Tensor x(DType::kFloat32, {shape->batch, shape->c, shape->side, shape->side});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = pixel(rng);
  const std::map<std::string, Tensor> inputs = {{"x", x}};
  auto& executor = engine->executor;
  if (!executor.run(inputs).is_ok()) state.SkipWithError("run failed");
  double seconds = 0;
  for (auto _ : state) {
    executor.set_profiling(true);  // clears the previous run's times
    if (!executor.run(inputs).is_ok()) state.SkipWithError("run failed");
    double ms = 0;
    for (const auto& layer : executor.profile())
      if (layer.node->op_type == "QConv") ms += layer.total_ms;
    state.SetIterationTime(ms / 1e3);
    seconds += ms / 1e3;
  }
  const double rate = static_cast<double>(conv_multiply_adds(*shape)) *
                      static_cast<double>(state.iterations()) / seconds;
  state.counters["MAC/s"] = rate;
}

}  // namespace
}  // namespace qdq::bench

int main(int argc, char** argv) {
  using namespace qdq;
  using namespace qdq::bench;
  benchmark::Initialize(&argc, argv);
  const int cores = omp_get_num_procs();
  for (const PeakLoop& loop : peak_loops()) {
    if (!isa_supported(loop.level)) continue;
    for (int threads : {1, cores})
      benchmark::RegisterBenchmark(
          ("peak/" + loop.name + "/threads:" + std::to_string(threads)).c_str(), peak, &loop,
          threads)
          ->UseRealTime();
  }
  omp_set_num_threads(cores);
  const Isa engine_level = selected_isa();  // QDQ_ISA may lower it
  for (const auto& [form, form_name] :
       {std::pair{BiasForm::kPtqInt32, "ptq"}, std::pair{BiasForm::kQatFloat, "qat"}})
    for (const ConvShape& shape : kConvShapes)
      benchmark::RegisterBenchmark(
          (std::string("qconv/") + isa_name(engine_level) + "/" + shape.name + "/" + form_name)
              .c_str(),
          qconv, &shape, form)
          ->UseManualTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
