#include "runtime/inputs.h"

#include <charconv>
#include <fstream>
#include <random>

namespace qdq {

static int64_t parse_dim(const std::string& s, const std::string& spec) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  check(ec == std::errc() && p == s.data() + s.size() && v >= 0,
        "shape spec '" + spec + "': bad dimension '" + s + "'");
  return v;
}

std::map<std::string, Shape> parse_shapes_spec(const std::string& spec) {
  std::map<std::string, Shape> out;
  if (spec.empty()) return out;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    std::string item =
        spec.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const size_t colon = item.rfind(':');
    check(colon != std::string::npos && colon > 0,
          "shape spec '" + item + "' must look like name:1x3x224x224");
    Shape shape;
    std::string dims = item.substr(colon + 1);
    size_t d0 = 0;
    while (true) {
      size_t x = dims.find('x', d0);
      shape.push_back(
          parse_dim(dims.substr(d0, x == std::string::npos ? std::string::npos : x - d0), item));
      if (x == std::string::npos) break;
      d0 = x + 1;
    }
    out[item.substr(0, colon)] = shape;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::map<std::string, Shape> resolve_input_shapes(const Graph& graph,
                                                  const std::map<std::string, Shape>& overrides,
                                                  int64_t batch) {
  std::map<std::string, Shape> out;
  for (const auto& [name, shape] : overrides) {
    const Value* v = graph.find_value(name);
    check(v && v->is_graph_input,
          "--shapes names '" + name + "', which is not an input of the model");
  }
  for (const Value* v : graph.inputs()) {
    auto it = overrides.find(v->name);
    if (it != overrides.end()) {
      out[v->name] = it->second;
      continue;
    }
    check(v->shape.has_value(),
          "input '" + v->name + "' has no declared shape; give --shapes=" + v->name + ":...");
    Shape s;
    for (size_t d = 0; d < v->shape->size(); ++d) {
      const Dim& dim = (*v->shape)[d];
      if (d == 0 && batch > 0)
        s.push_back(batch);
      else if (dim.is_known())
        s.push_back(dim.size);
      else if (d == 0)
        s.push_back(1);  // an unnamed batch defaults to 1, as in trtexec
      else
        fail("input '" + v->name + "' has dynamic dim " + std::to_string(d) + " ('" + dim.symbol +
             "'); give --shapes=" + v->name + ":...");
    }
    out[v->name] = s;
  }
  return out;
}

std::map<std::string, ShapeRange> resolve_shape_ranges(const std::map<std::string, Shape>& min,
                                                       const std::map<std::string, Shape>& max,
                                                       const std::map<std::string, Shape>& opt) {
  std::map<std::string, ShapeRange> out;
  for (const auto* named : {&min, &max})
    for (const auto& [name, shape] : *named) {
      check(opt.count(name) != 0,
            "--minShapes/--maxShapes name '" + name + "', which is not an input of the model");
      check(min.count(name) && max.count(name),
            "input '" + name + "' needs both --minShapes and --maxShapes");
    }
  for (const auto& [name, lo] : min) {
    const Shape& hi = max.at(name);
    const Shape& o = opt.at(name);
    bool ok = lo.size() == o.size() && hi.size() == o.size();
    for (size_t d = 0; ok && d < o.size(); ++d) ok = lo[d] >= 0 && lo[d] <= o[d] && o[d] <= hi[d];
    check(ok, "input '" + name + "': the shapes must satisfy min <= opt <= max in every dim (min " +
                  shape_to_string(lo) + ", opt " + shape_to_string(o) + ", max " +
                  shape_to_string(hi) + ")");
    out[name] = {lo, o, hi};
  }
  return out;
}

Tensor random_tensor(DType dtype, const Shape& shape, uint32_t seed) {
  Tensor t(dtype, shape);
  std::mt19937 rng(seed);
  auto fill_int = [&](auto* p, int lo, int hi) {
    std::uniform_int_distribution<int> dist(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i)
      p[i] = static_cast<std::remove_pointer_t<decltype(p)>>(dist(rng));
  };
  switch (dtype) {
    case DType::kFloat32: {
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
      break;
    }
    case DType::kUInt8:
      fill_int(t.data<uint8_t>(), 0, 255);
      break;
    case DType::kInt8:
      fill_int(t.data<int8_t>(), -128, 127);
      break;
    case DType::kInt32:
      fill_int(t.data<int32_t>(), -1000, 1000);
      break;
    case DType::kInt64:
      fill_int(t.data<int64_t>(), 0, 0);
      break;
    case DType::kBool:
      fill_int(t.data<bool>(), 0, 1);
      break;
    default:
      fail(std::string("cannot generate random ") + dtype_name(dtype) + " inputs");
  }
  return t;
}

Tensor load_raw_tensor(const std::filesystem::path& path, DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  check(!ec, "cannot open " + path.string());
  check(size == t.nbytes(), path.string() + ": holds " + std::to_string(size) + " bytes, input " +
                                shape_to_string(shape) + " " + dtype_name(dtype) + " needs " +
                                std::to_string(t.nbytes()));
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(size));
  check(static_cast<bool>(in), "reading " + path.string() + " failed");
  return t;
}

}  // namespace qdq
