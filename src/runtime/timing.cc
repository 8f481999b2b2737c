#include "runtime/timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace qdq {

using Clock = std::chrono::steady_clock;

static double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::vector<double> time_iterations(const TimingOptions& options,
                                    const std::function<void()>& run_once) {
  // The caller has run once already (to surface errors), so warm-up may be empty.
  const auto warm_start = Clock::now();
  while (ms_since(warm_start) < options.warm_up_ms) run_once();

  std::vector<double> latencies;
  const auto start = Clock::now();
  while (static_cast<int64_t>(latencies.size()) < options.min_iterations ||
         ms_since(start) < options.min_duration_s * 1000.0) {
    const auto t0 = Clock::now();
    run_once();
    latencies.push_back(ms_since(t0));
  }
  return latencies;
}

double LatencyStats::percentile(double p) const {
  if (sorted_ms.empty()) return 0.0;
  // Nearest rank, as trtexec reports it.
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted_ms.size()));
  const size_t index =
      static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted_ms.size()))) - 1;
  return sorted_ms[index];
}

LatencyStats summarize_latencies(const std::vector<double>& latencies_ms) {
  LatencyStats s;
  if (latencies_ms.empty()) return s;
  s.sorted_ms = latencies_ms;
  std::sort(s.sorted_ms.begin(), s.sorted_ms.end());
  s.count = latencies_ms.size();
  s.min = s.sorted_ms.front();
  s.max = s.sorted_ms.back();
  s.total_s = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) / 1000.0;
  s.mean = s.total_s * 1000.0 / static_cast<double>(s.count);
  const size_t mid = s.count / 2;
  s.median = s.count % 2 ? s.sorted_ms[mid] : 0.5 * (s.sorted_ms[mid - 1] + s.sorted_ms[mid]);
  return s;
}

}  // namespace qdq
