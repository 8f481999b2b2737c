// trtexec-style command lines: --name=value or --name value, plus positionals.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qdq::cli {

struct FlagSpec {
  std::string name;  // without the leading dashes
  bool takes_value;
  std::string help;
};

class Flags {
 public:
  // Throws qdq::Error for an unknown flag or a missing value.
  static Flags parse(int argc, char** argv, const std::vector<FlagSpec>& specs);

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

std::string usage_text(const std::string& synopsis, const std::vector<FlagSpec>& specs);
std::vector<std::string> split(const std::string& s, char separator);
// "a,b,c" or "a" (for all three) as --mean/--std give per-channel values; an
// empty text gives `fallback`. Throws naming `flag` when it does not parse.
std::array<float, 3> parse_float_triple(const std::string& text, std::array<float, 3> fallback,
                                        const std::string& flag);

}  // namespace qdq::cli
