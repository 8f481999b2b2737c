// Fuzz target: ONNX bytes -> import (protobuf parse, ONNX shape inference, our
// IR and its verifier). Every input must end in a model or an error value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "graph/onnx_import.h"
#include "runtime/reference/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // External data resolves against a folder that holds nothing.
  (void)qdq::import_onnx_bytes(bytes, "/nonexistent-qdq-fuzz", qdq::runtime_import_options());
  return 0;
}
