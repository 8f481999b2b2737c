#include "cli/report.h"

#include <cmath>
#include <cstdio>
#include <iostream>
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

}  // namespace qdq::cli
