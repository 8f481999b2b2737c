// ONNX's shape inference (libonnx), guarded. libonnx 1.12's inference
// functions trust the shapes a model declares; some index dims without
// checking ranks (fuzzing found convPoolShapeInference reading an input's dims
// by its weight's rank, past the end). The guards refuse such nodes before the
// function runs, which ends inference with an onnx::InferenceError like any
// other inference failure.
#pragma once

namespace onnx {
class ModelProto;
}

namespace qdq {

// Throws what libonnx throws (std::exception) when inference cannot complete.
void infer_shapes_guarded(onnx::ModelProto& model);

}  // namespace qdq
