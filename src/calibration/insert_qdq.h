// FP32 model + calibrated ranges -> a standard QDQ model (what
// `qdq-opt --quantize` writes and `qexec --int8` builds from an FP32 model):
// the quantization TensorRT's implicit INT8 mode and pytorch-quantization
// apply, in ONNX Runtime's QDQ format.
//
// - Weights of Conv, Gemm and MatMul (constant, float): int8, symmetric, one
//   scale per output channel (max |w| / 127), behind a DequantizeLinear.
// - Biases: int32 with scale x_scale * w_scale[c], as QLinearConv wants.
// - The activation input of each such layer: QuantizeLinear -> DequantizeLinear
//   in uint8 over the calibrated [min, max]: zero point 0 for a tensor never
//   negative (a ReLU's output), else the zero point that puts 0 on the grid,
//   as ONNX Runtime's u8 activations (all 256 levels on the values that occur;
//   symmetric int8 would leave the short side's levels unused). Every float reader of the
//   tensor reads the DequantizeLinear, residual adds included (TensorRT's rule),
//   so a tensor is stored once, in 8 bits.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calibration/calibrate.h"
#include "graph/graph.h"

namespace qdq {

struct QuantizeOptions {
  bool keep_first_layer = false;  // the first quantizable layer stays FP32
  bool keep_last_layer = false;   // and the last (often the classifier)
};

// The activation tensors insert_qdq quantizes: the float input 0 of each
// quantizable layer (Conv/Gemm/MatMul with constant float weights), in
// graph order, without repeats.
std::vector<std::string> tensors_to_calibrate(const Graph& graph, const QuantizeOptions& options);

// Rewrites `graph` as above; every tensor tensors_to_calibrate names must have
// a range. Returns the number of layers quantized.
int insert_qdq(Graph& graph, const std::map<std::string, TensorRange>& ranges,
               const QuantizeOptions& options);

}  // namespace qdq
