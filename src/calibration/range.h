// Choosing a tensor's quantization range from what calibration observed: the
// calibrators users know from TensorRT and pytorch-quantization. All pick a
// threshold amax on |x|; calibration clips the tensor's observed [min, max]
// to [-amax, amax] (calibrate.h's TensorRange, insert_qdq's uint8 grid).
//
// - MinMax: the largest |x| seen. Keeps every value; one outlier stretches the
//   scale for all the others.
// - Percentile: the |x| below which the given share of all values fall.
// - Entropy (TensorRT's KL-divergence method): of the clipping thresholds over
//   a 2048-bin |x| histogram, the one whose 128-level quantization loses the
//   least information, measured as KL(P || Q) between the clipped histogram P
//   (the clipped-away mass added to its last bin) and P quantized to 128
//   levels and expanded back over P's non-empty bins.
// - Lp: the threshold whose quantization (rounding inside, clipping outside)
//   has the least mean |error|^p over the histogram. p = 2 is
//   pytorch-quantization's "mse" method; p < 2 weighs a far outlier's clipping
//   error less against the rounding error of the many small values (LAPQ,
//   Nahshan et al. 2019, search over p for the same reason).
#pragma once

#include <cstdint>
#include <vector>

namespace qdq {

// The |x| histogram of one tensor over all calibration batches, on a range
// fixed in advance (calibration's first pass finds each tensor's max |x|, the
// second fills the histogram), so batches add up exactly.
class AbsHistogram {
 public:
  static constexpr int kDefaultBins = 2048;

  explicit AbsHistogram(float max_abs, int bins = kDefaultBins);
  // NaNs are skipped; values beyond the range count in the last bin.
  void add(const float* values, int64_t count);

  const std::vector<double>& counts() const { return counts_; }
  float max_abs() const { return max_abs_; }
  // The upper edge of bin i - 1: the clipping threshold that keeps bins [0, i).
  float edge(int i) const;

 private:
  float max_abs_;
  std::vector<double> counts_;
};

float amax_percentile(const AbsHistogram& histogram, double percentile);
// `levels`: the quantized levels on one side of zero (128 for int8).
float amax_entropy(const AbsHistogram& histogram, int levels = 128);
// `steps`: the quantization steps over [0, amax] (127 for int8, 255 for a
// nonnegative tensor in uint8).
float amax_lp(const AbsHistogram& histogram, int steps, double p);

}  // namespace qdq
