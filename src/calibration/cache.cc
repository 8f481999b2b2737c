#include "calibration/cache.h"

#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "support/status.h"

namespace qdq {

uint64_t model_fingerprint(const std::string& serialized_model) {
  return XXH3_64bits(serialized_model.data(), serialized_model.size());
}

std::string format_calibration_cache(const CalibrationCache& cache) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(cache.model));
  std::string text = "qdq-calibration-cache 2\nmodel " + std::string(hash) + "\ncalibrator " +
                     cache.calibrator + "\n";
  for (const auto& [name, range] : cache.ranges) {
    check(name.find_first_of(" \t\r\n") == std::string::npos,
          "tensor name '" + name + "' holds whitespace: the calibration cache cannot list it",
          ErrorKind::kUnsupported);
    char bounds[64];  // %.9g round-trips a float
    std::snprintf(bounds, sizeof bounds, " %.9g %.9g\n", static_cast<double>(range.min),
                  static_cast<double>(range.max));
    text += name;
    text += bounds;
  }
  return text;
}

CalibrationCache parse_calibration_cache(const std::string& text, const std::string& path) {
  CalibrationCache cache;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto bad = [&](const std::string& why) {
    fail(path + ":" + std::to_string(number) + ": not a qdq calibration cache (" + why + ")");
  };
  auto number_in = [&](const std::string& field, const char* what) {
    char* end = nullptr;
    const float v = std::strtof(field.c_str(), &end);
    if (field.empty() || *end != '\0' || !std::isfinite(v))
      bad(std::string(what) + " '" + field + "'");
    return v;
  };
  int version = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream fields(line);
    std::string key, first, second;
    fields >> key;
    if (number == 1) {
      if (key != "qdq-calibration-cache" || !(fields >> first) || (first != "1" && first != "2"))
        bad("expected 'qdq-calibration-cache 2'");
      version = first == "1" ? 1 : 2;
    } else if (number == 2) {
      if (key != "model" || !(fields >> first) || first.size() != 16 ||
          first.find_first_not_of("0123456789abcdef") != std::string::npos)
        bad("expected 'model' and a 16-digit hex fingerprint");
      cache.model = std::stoull(first, nullptr, 16);
    } else if (number == 3) {
      if (key != "calibrator") bad("expected 'calibrator'");
      std::getline(fields >> std::ws, cache.calibrator);
    } else if (!key.empty()) {
      TensorRange range;
      if (version == 1) {
        if (!(fields >> first >> second)) bad("expected 'tensor amax signed|unsigned'");
        const float amax = number_in(first, "amax");
        if (amax < 0.0f) bad("amax '" + first + "'");
        if (second != "signed" && second != "unsigned")
          bad("'" + second + "' is not signed|unsigned");
        range = {second == "signed" ? -amax : 0.0f, amax};
      } else {
        if (!(fields >> first >> second)) bad("expected 'tensor min max'");
        range = {number_in(first, "min"), number_in(second, "max")};
        if (range.min > 0.0f || range.max < 0.0f) bad("[" + first + ", " + second + "] holds no 0");
      }
      if (!cache.ranges.emplace(key, range).second) bad("tensor '" + key + "' listed twice");
    }
  }
  if (number < 3) bad("the header is incomplete");
  return cache;
}

}  // namespace qdq
