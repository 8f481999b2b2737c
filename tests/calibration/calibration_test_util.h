// The small classifier the calibration tests quantize.
#pragma once

#include "graph/builder.h"
#include "passes/pass_test_util.h"

namespace qdq::testing {

// x [batch,2,5,5] -> Conv(3x3, 4 channels, bias) -> Relu -> Flatten ->
// Gemm(transB) -> y [batch,3], typed as an exporter writes it (what goes
// through ONNX needs a typed output; the builder leaves it untyped).
inline Graph conv_relu_gemm(int64_t batch = 1) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {batch, 2, 5, 5});
  Attributes conv;
  conv.set("kernel_shape", std::vector<int64_t>{3, 3});
  Value* h = b.op("Relu", {b.op("Conv",
                                {x, b.constant("w", random_floats({4, 2, 3, 3}, 1)),
                                 b.constant("b", random_floats({4}, 2))},
                                conv)});
  Attributes gemm;
  gemm.set("transB", int64_t{1});
  b.output(b.op("Gemm",
                {b.op("Flatten", {h}), b.constant("fc", random_floats({3, 36}, 3)),
                 b.constant("fc_b", random_floats({3}, 4))},
                gemm));
  Graph g = b.build();
  g.outputs()[0]->dtype = DType::kFloat32;
  g.outputs()[0]->shape = SymbolicShape{batch < 0 ? Dim{-1, "N"} : Dim{batch, ""}, Dim{3, ""}};
  return g;
}

}  // namespace qdq::testing
