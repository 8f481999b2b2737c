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
  std::string text = "qdq-calibration-cache 1\nmodel " + std::string(hash) + "\ncalibrator " +
                     cache.calibrator + "\n";
  for (const auto& [name, range] : cache.ranges) {
    check(name.find_first_of(" \t\r\n") == std::string::npos,
          "tensor name '" + name + "' holds whitespace: the calibration cache cannot list it",
          ErrorKind::kUnsupported);
    char amax[32];
    std::snprintf(amax, sizeof amax, "%.9g", static_cast<double>(range.amax));  // round-trips
    text += name + " " + amax + (range.nonnegative ? " unsigned\n" : " signed\n");
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
  while (std::getline(in, line)) {
    ++number;
    std::istringstream fields(line);
    std::string key, value, kind;
    fields >> key;
    if (number == 1) {
      if (key != "qdq-calibration-cache" || !(fields >> value) || value != "1")
        bad("expected 'qdq-calibration-cache 1'");
    } else if (number == 2) {
      if (key != "model" || !(fields >> value) || value.size() != 16 ||
          value.find_first_not_of("0123456789abcdef") != std::string::npos)
        bad("expected 'model' and a 16-digit hex fingerprint");
      cache.model = std::stoull(value, nullptr, 16);
    } else if (number == 3) {
      if (key != "calibrator") bad("expected 'calibrator'");
      std::getline(fields >> std::ws, cache.calibrator);
    } else if (!key.empty()) {
      char* end = nullptr;
      if (!(fields >> value >> kind)) bad("expected 'tensor amax signed|unsigned'");
      const float amax = std::strtof(value.c_str(), &end);
      if (*end != '\0' || !std::isfinite(amax) || amax < 0.0f) bad("amax '" + value + "'");
      if (kind != "signed" && kind != "unsigned") bad("'" + kind + "' is not signed|unsigned");
      if (!cache.ranges.emplace(key, TensorRange{amax, kind == "unsigned"}).second)
        bad("tensor '" + key + "' listed twice");
    }
  }
  if (number < 3) bad("the header is incomplete");
  return cache;
}

}  // namespace qdq
