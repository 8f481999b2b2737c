#include "cli/flags.h"

#include <charconv>

#include "support/status.h"

namespace qdq::cli {

Flags Flags::parse(int argc, char** argv, const std::vector<FlagSpec>& specs) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    // One-letter flags may also be written -x VALUE (qdq-opt's -o).
    if (arg.size() == 2 && arg[0] == '-' && arg[1] != '-') arg = "-" + arg;
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      f.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const auto eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == name) spec = &s;
    check(spec != nullptr, "unknown flag --" + name + " (see --help)");
    if (spec->takes_value && !inline_value) {
      check(i + 1 < argc, "flag --" + name + " needs a value");
      value = argv[++i];
    }
    check(spec->takes_value || !inline_value, "flag --" + name + " takes no value");
    f.values_[name] = value;
  }
  return f;
}

std::string Flags::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

int64_t Flags::get_int(const std::string& name, int64_t fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  check(ec == std::errc() && ptr == v.data() + v.size(),
        "--" + name + "=" + v + ": not an integer");
  return out;
}

double Flags::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  try {
    size_t used = 0;
    double out = std::stod(v, &used);
    check(used == v.size(), "");
    return out;
  } catch (const std::exception&) {
    fail("--" + name + "=" + v + ": not a number");
  }
}

std::string usage_text(const std::string& synopsis, const std::vector<FlagSpec>& specs) {
  std::string text = "usage: " + synopsis + "\n\noptions:\n";
  for (const auto& s : specs) {
    std::string left = "  --" + s.name + (s.takes_value ? "=..." : "");
    if (left.size() < 28) left.resize(28, ' ');
    text += left + " " + s.help + "\n";
  }
  return text;
}

std::vector<std::string> split(const std::string& s, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find(separator, start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

std::array<float, 3> parse_float_triple(const std::string& text, std::array<float, 3> fallback,
                                        const std::string& flag) {
  if (text.empty()) return fallback;
  auto parts = split(text, ',');
  check(parts.size() == 1 || parts.size() == 3, "--" + flag + " takes one or three values");
  std::array<float, 3> v{};
  for (size_t i = 0; i < 3; ++i) {
    try {
      size_t used = 0;
      const std::string& part = parts[parts.size() == 1 ? 0 : i];
      v[i] = std::stof(part, &used);
      check(used == part.size(), "");
    } catch (const std::exception&) {
      fail("--" + flag + "=" + text + ": not a list of numbers");
    }
  }
  return v;
}

}  // namespace qdq::cli
