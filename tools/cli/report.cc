#include "cli/report.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace qdq::cli {

int report_error(const Status& status) {
  std::string message = status.message();
  for (char& c : message)
    if (c == '\n') c = ' ';
  std::cerr << "error: " << message << std::endl;
  return status.kind() == ErrorKind::kInternal ? 2 : 1;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";  // JSON has no NaN/Inf
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

template <typename T>
static void append_values(std::ostringstream& out, const Tensor& t) {
  auto v = t.values<T>();
  for (size_t i = 0; i < v.size(); ++i)
    out << (i ? "," : "") << json_number(static_cast<double>(v[i]));
}

std::string tensors_to_json(const std::vector<std::string>& names,
                            const std::vector<Tensor>& tensors) {
  std::ostringstream out;
  out << "{";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    out << (i ? ",\n" : "\n") << "  \"" << json_escape(names[i]) << "\": {\"shape\": [";
    for (size_t d = 0; d < t.rank(); ++d) out << (d ? "," : "") << t.dim(d);
    out << "], \"data\": [";
    visit_dtype(t.dtype(), [&](auto tag) { append_values<decltype(tag)>(out, t); });
    out << "]}";
  }
  out << "\n}\n";
  return out.str();
}

std::map<std::string, NamedValues> tensors_from_json(const std::string& text,
                                                     const std::string& what) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  check(!json.is_discarded(), what + ": not valid JSON");
  check(json.is_object(),
        what + ": expected an object {\"name\": {\"shape\": [...], \"data\": [...]}}");
  std::map<std::string, NamedValues> tensors;
  for (const auto& [name, entry] : json.items()) {
    const std::string where = what + ": '" + name + "'";
    check(entry.is_object() && entry.contains("shape") && entry.contains("data") &&
              entry["shape"].is_array() && entry["data"].is_array(),
          where + " needs \"shape\" and \"data\" arrays");
    NamedValues t;
    for (const auto& d : entry["shape"]) {
      check(d.is_number_integer() && d.get<int64_t>() >= 0,
            where + ": shape dims must be integers >= 0");
      t.shape.push_back(d.get<int64_t>());
    }
    check(element_count(t.shape) == static_cast<int64_t>(entry["data"].size()),
          where + ": " + std::to_string(entry["data"].size()) + " values for shape " +
              shape_to_string(t.shape));
    t.data.reserve(entry["data"].size());
    for (const auto& v : entry["data"]) {
      check(v.is_number() || v.is_null(), where + ": data must be numbers");
      const double d = v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
      const double big = std::numeric_limits<float>::max();
      t.data.push_back(d > big    ? std::numeric_limits<float>::infinity()
                       : d < -big ? -std::numeric_limits<float>::infinity()
                                  : static_cast<float>(d));
    }
    tensors.emplace(name, std::move(t));
  }
  return tensors;
}

std::string fusion_summary(const FusionExplanation& e) {
  char buf[160];
  const double share = e.multiply_adds > 0 ? 100.0 * static_cast<double>(e.integer_multiply_adds) /
                                                 static_cast<double>(e.multiply_adds)
                                           : 0.0;
  std::snprintf(buf, sizeof buf,
                "INT8 layers: %zu of %zu; INT8 multiply-adds: %.2f M of %.2f M (%.1f %%)",
                e.integer_layers, e.layers, static_cast<double>(e.integer_multiply_adds) / 1e6,
                static_cast<double>(e.multiply_adds) / 1e6, share);
  return buf;
}

}  // namespace qdq::cli
