// Building a model's input tensors: shapes from the model plus --shapes/--batch
// overrides, contents from raw files or seeded random data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "graph/graph.h"
#include "runtime/reference/executor.h"

namespace qdq {

// "in:1x3x32x32,other:4x10" -> {in: [1,3,32,32], other: [4,10]}.
std::map<std::string, Shape> parse_shapes_spec(const std::string& spec);

// Concrete shape for each graph input: overrides win, then batch (dim 0), then
// the model's own dims. A dynamic dim left unresolved is an error naming it.
std::map<std::string, Shape> resolve_input_shapes(const Graph& graph,
                                                  const std::map<std::string, Shape>& overrides,
                                                  int64_t batch /* 0: keep */);

// --minShapes/--maxShapes around the opt shapes: a range for each input either
// names (both must, with opt's rank and min <= opt <= max per dim).
std::map<std::string, ShapeRange> resolve_shape_ranges(const std::map<std::string, Shape>& min,
                                                       const std::map<std::string, Shape>& max,
                                                       const std::map<std::string, Shape>& opt);

// Deterministic random contents: floats uniform in [-1, 1], integers over their
// full range.
Tensor random_tensor(DType dtype, const Shape& shape, uint32_t seed);
// Raw little-endian bytes; the file size must match the shape exactly.
Tensor load_raw_tensor(const std::filesystem::path& path, DType dtype, const Shape& shape);

}  // namespace qdq
