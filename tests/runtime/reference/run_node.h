// Runs one op on constant inputs through the reference executor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/builder.h"
#include "runtime/reference/executor.h"

namespace qdq::testing {

// nullopt inputs are ONNX's empty optional inputs. Throws qdq::Error on failure.
inline std::vector<Tensor> run_node(const std::string& op,
                                    const std::vector<std::optional<Tensor>>& inputs,
                                    Attributes attributes = {}, size_t outputs = 1,
                                    int64_t opset = 17) {
  GraphBuilder b(opset);
  std::vector<Value*> values;
  for (size_t i = 0; i < inputs.size(); ++i)
    values.push_back(inputs[i] ? b.constant("in" + std::to_string(i), *inputs[i]) : nullptr);
  for (Value* out : b.add(op, values, std::move(attributes), outputs)) b.output(out);
  Graph g = b.build();
  auto ex = ReferenceExecutor::create(g);
  if (!ex.is_ok()) throw Error(ex.status().message());
  auto r = ex->run({});
  if (!r.is_ok()) throw Error(r.status().message());
  return r.value();
}

inline Tensor scalar_f(float v) { return Tensor::scalar<float>(v); }

}  // namespace qdq::testing
