// The timing loop and latency statistics behind qexec's performance summary
// (trtexec's meanings of --warmUp, --iterations, --duration, --percentile).
#pragma once

#include <functional>
#include <vector>

namespace qdq {

struct TimingOptions {
  double warm_up_ms = 200.0;  // run untimed for at least this long
  int64_t min_iterations = 10;
  double min_duration_s = 3.0;  // keep timing until both minimums are met
};

struct LatencyStats {
  double min = 0, max = 0, mean = 0, median = 0;
  double total_s = 0;
  size_t count = 0;
  double percentile(double p) const;  // p in [0, 100]
  std::vector<double> sorted_ms;
};

// Returns the per-iteration latencies in milliseconds, in run order.
std::vector<double> time_iterations(const TimingOptions& options,
                                    const std::function<void()>& run_once);
LatencyStats summarize_latencies(const std::vector<double>& latencies_ms);

}  // namespace qdq
