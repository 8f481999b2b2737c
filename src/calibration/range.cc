#include "calibration/range.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qdq {

AbsHistogram::AbsHistogram(float max_abs, int bins)
    : max_abs_(std::isfinite(max_abs) && max_abs > 0.0f ? max_abs : 0.0f),
      counts_(static_cast<size_t>(std::max(bins, 1)), 0.0) {}

void AbsHistogram::add(const float* values, int64_t count) {
  const int last = static_cast<int>(counts_.size()) - 1;
  const double per_unit = max_abs_ > 0.0f ? counts_.size() / static_cast<double>(max_abs_) : 0.0;
  for (int64_t i = 0; i < count; ++i) {
    const float v = std::fabs(values[i]);
    if (std::isnan(v)) continue;
    const double position = v * per_unit;
    counts_[static_cast<size_t>(position < last ? static_cast<int>(position) : last)] += 1.0;
  }
}

float AbsHistogram::edge(int i) const {
  return static_cast<float>(static_cast<double>(max_abs_) * i / counts_.size());
}

float amax_percentile(const AbsHistogram& histogram, double percentile) {
  const auto& counts = histogram.counts();
  double total = 0.0;
  for (double c : counts) total += c;
  if (total == 0.0) return histogram.max_abs();
  const double wanted = total * std::clamp(percentile, 0.0, 100.0) / 100.0;
  double below = 0.0;
  for (size_t i = 0; i < counts.size(); ++i) {
    below += counts[i];
    if (below >= wanted) return histogram.edge(static_cast<int>(i) + 1);
  }
  return histogram.max_abs();
}

namespace {

// KL(P || Q) over bins where P > 0, both normalized here; infinite when Q
// misses mass that P has.
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  double p_total = 0.0, q_total = 0.0;
  for (size_t i = 0; i < p.size(); ++i) p_total += p[i], q_total += q[i];
  if (p_total == 0.0 || q_total == 0.0) return std::numeric_limits<double>::infinity();
  double divergence = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0.0) continue;
    if (q[i] == 0.0) return std::numeric_limits<double>::infinity();
    const double pi = p[i] / p_total, qi = q[i] / q_total;
    divergence += pi * std::log(pi / qi);
  }
  return divergence;
}

}  // namespace

float amax_entropy(const AbsHistogram& histogram, int levels) {
  std::vector<double> counts = histogram.counts();
  const int bins = static_cast<int>(counts.size());
  if (bins <= levels) return histogram.max_abs();
  // The zero bin of a ReLU output holds most of the tensor; like TensorRT's
  // calibrator, weigh it as its neighbour so it does not decide the threshold.
  counts[0] = counts[1];
  double best = std::numeric_limits<double>::infinity();
  int best_bins = bins;
  std::vector<double> p, q, level_sum(static_cast<size_t>(levels)), level_bins(levels);
  for (int kept = levels; kept <= bins; ++kept) {
    p.assign(counts.begin(), counts.begin() + kept);
    double clipped = 0.0;
    for (int i = kept; i < bins; ++i) clipped += counts[i];
    p.back() += clipped;
    // Bin i of P falls in level floor(i * levels / kept); a level's mass is
    // spread evenly over its non-empty bins (empty bins stay empty in Q).
    std::fill(level_sum.begin(), level_sum.end(), 0.0);
    std::fill(level_bins.begin(), level_bins.end(), 0.0);
    auto level_of = [&](int i) { return static_cast<size_t>(int64_t{i} * levels / kept); };
    for (int i = 0; i < kept; ++i)
      if (counts[i] != 0.0) level_sum[level_of(i)] += counts[i], level_bins[level_of(i)] += 1.0;
    q.assign(static_cast<size_t>(kept), 0.0);
    for (int i = 0; i < kept; ++i)
      if (counts[i] != 0.0) q[i] = level_sum[level_of(i)] / level_bins[level_of(i)];
    const double divergence = kl_divergence(p, q);
    // Ties go to the wider range (clips fewer values).
    if (divergence <= best) best = divergence, best_bins = kept;
  }
  return histogram.edge(best_bins);
}

float amax_lp(const AbsHistogram& histogram, int steps, double p) {
  const auto& counts = histogram.counts();
  const int bins = static_cast<int>(counts.size());
  const double width = static_cast<double>(histogram.max_abs()) / bins;
  if (width == 0.0) return histogram.max_abs();
  // Each bin's values taken as evenly spread over it, sampled at a few points:
  // a threshold far below the max leaves only a few steps in a bin, where its
  // centre alone would misjudge the rounding error.
  constexpr int kSamples = 4;
  auto bin_error = [&](int i, double amax, double step) {
    double error = 0.0;
    for (int k = 0; k < kSamples; ++k) {
      const double x = (i + (k + 0.5) / kSamples) * width;
      const double quantized = x >= amax ? amax : std::nearbyint(x / step) * step;
      error += std::pow(std::fabs(x - quantized), p);
    }
    return error / kSamples;
  };
  double best = std::numeric_limits<double>::infinity();
  int best_bins = bins;
  // Thresholds 2^(-k/16) of the range, down to one bin: a heavy tail can put
  // the best one far below the max.
  int previous = 0;
  for (int k = 0;; ++k) {
    const int kept = std::max(1, static_cast<int>(bins * std::exp2(-k / 16.0)));
    if (kept == previous) {
      if (kept == 1) break;
      continue;
    }
    previous = kept;
    const double amax = kept * width, step = amax / steps;
    double error = 0.0;
    for (int i = 0; i < bins; ++i)
      if (counts[i] != 0.0) error += counts[i] * bin_error(i, amax, step);
    // Ties go to the wider range, which is tried first.
    if (error < best) best = error, best_bins = kept;
  }
  return histogram.edge(best_bins);
}

}  // namespace qdq
