// Classification accuracy bookkeeping for qeval: top-1/top-5, per-class counts,
// and agreement with a reference model's predictions.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/tensor.h"

namespace qdq {

class AccuracyCounter {
 public:
  explicit AccuracyCounter(int64_t classes)
      : per_class_correct_(classes), per_class_total_(classes) {}

  // logits: [batch, classes] float32; labels: one per row (already offset).
  // reference: optional logits of a reference model for the same rows.
  void add(const Tensor& logits, const std::vector<int64_t>& labels,
           const Tensor* reference = nullptr);

  int64_t images() const { return images_; }
  double top1() const { return percent(top1_); }
  double top5() const { return percent(top5_); }
  double agreement() const { return percent(agree_); }
  double mean_abs_logit_difference() const {
    return compared_values_ ? abs_diff_sum_ / compared_values_ : 0.0;
  }
  double class_accuracy(int64_t c) const;
  int64_t classes() const { return static_cast<int64_t>(per_class_total_.size()); }

 private:
  double percent(int64_t n) const {
    return images_ ? 100.0 * static_cast<double>(n) / static_cast<double>(images_) : 0.0;
  }
  int64_t images_ = 0, top1_ = 0, top5_ = 0, agree_ = 0;
  double abs_diff_sum_ = 0.0;
  int64_t compared_values_ = 0;
  std::vector<int64_t> per_class_correct_, per_class_total_;
};

}  // namespace qdq
