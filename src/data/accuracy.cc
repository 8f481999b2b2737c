#include "data/accuracy.h"

#include <cmath>

namespace qdq {

static int64_t argmax(const float* row, int64_t n) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; ++k)
    if (row[k] > row[best]) best = k;
  return best;
}

void AccuracyCounter::add(const Tensor& logits, const std::vector<int64_t>& labels,
                          const Tensor* reference) {
  check(logits.dtype() == DType::kFloat32 && logits.rank() == 2,
        "the model's output is not a class vector: expected float32 [batch, classes], got " +
            std::string(dtype_name(logits.dtype())) + " " + shape_to_string(logits.shape()));
  const int64_t rows = logits.dim(0), n = logits.dim(1);
  check(rows == static_cast<int64_t>(labels.size()),
        "output batch does not match the images given");
  check(!reference || reference->shape() == logits.shape(),
        "the reference model's output shape differs");
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = logits.data<float>() + r * n;
    const int64_t label = labels[r];
    check(label >= 0 && label < n, "label " + std::to_string(label) + " is outside the model's " +
                                       std::to_string(n) + " classes (see --labelOffset)");
    const int64_t predicted = argmax(row, n);
    // Top-5: the label is among the five largest when fewer than five beat it.
    int64_t better = 0;
    for (int64_t k = 0; k < n; ++k) better += row[k] > row[label];
    ++images_;
    top1_ += predicted == label;
    top5_ += better < 5;
    if (label < classes()) {
      ++per_class_total_[label];
      per_class_correct_[label] += predicted == label;
    }
    if (reference) {
      const float* ref = reference->data<float>() + r * n;
      agree_ += argmax(ref, n) == predicted;
      for (int64_t k = 0; k < n; ++k)
        abs_diff_sum_ += std::fabs(static_cast<double>(row[k]) - ref[k]);
      compared_values_ += n;
    }
  }
}

double AccuracyCounter::class_accuracy(int64_t c) const {
  return per_class_total_[c] ? 100.0 * static_cast<double>(per_class_correct_[c]) /
                                   static_cast<double>(per_class_total_[c])
                             : 0.0;
}

}  // namespace qdq
