#include "cli/calibration_flags.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "support/status.h"

namespace qdq::cli {

const std::vector<FlagSpec>& image_flag_specs() {
  static const std::vector<FlagSpec> specs = {
      {"mean", true,
       "per-channel mean on [0,1] pixels, a,b,c (default ImageNet's 0.485,0.456,0.406)"},
      {"std", true, "per-channel std (default 0.229,0.224,0.225)"},
      {"resize", true,
       "shorter side to N, antialiased bilinear (imagenet default 256; cifar10: none)"},
      {"crop", true, "center crop N x N (imagenet default 224; cifar10: none)"},
      {"labels", true, "imagenet: a flat folder's labels, 'file label' lines"},
  };
  return specs;
}

DatasetOptions parse_image_flags(const Flags& flags) {
  DatasetOptions options;
  options.mean = parse_float_triple(flags.get("mean"), options.mean, "mean");
  options.std = parse_float_triple(flags.get("std"), options.std, "std");
  for (float v : options.std) check(v > 0.0f, "--std values must be positive");
  options.resize = flags.get_int("resize", -1);
  options.crop = flags.get_int("crop", -1);
  options.labels_file = flags.get("labels");
  return options;
}

const std::vector<FlagSpec>& calibration_flag_specs() {
  static const std::vector<FlagSpec> specs = with_flags(
      {
          {"calibData", true,
           "calibration images, a dataset spec as for qeval (cifar10:PATH, imagenet:DIR)"},
          {"calib", true,
           "calibration cache: read when it exists (refused if made for another model), else "
           "written after calibrating"},
          {"calibrator", true,
           "auto (default: of mse, lp, entropy and percentile, the one whose INT8 outputs agree "
           "best with FP32's on the calibration images), mse (least squared error), lp (least "
           "mean |error|^p), entropy (TensorRT's KL method), percentile or minmax"},
          {"calibPercentile", true,
           "the percentile calibrator's share of |x| kept (default 99.99)"},
          {"calibLp", true, "the lp calibrator's p (default 0.5)"},
          {"calibImages", true, "calibrate on the first N images (default 512)"},
          {"keepFirstLayer", false, "leave the first Conv/Gemm/MatMul in FP32"},
          {"keepLastLayer", false, "leave the last Conv/Gemm/MatMul (the classifier) in FP32"},
      },
      image_flag_specs());
  return specs;
}

QuantizeModelOptions parse_calibration_flags(const Flags& flags) {
  QuantizeModelOptions options;
  options.calib_data = flags.get("calibData");
  options.cache_path = flags.get("calib");
  options.dataset = parse_image_flags(flags);
  const std::string calibrator = flags.get("calibrator", "auto");
  if (calibrator == "auto")
    options.calibration.calibrator = Calibrator::kAuto;
  else if (calibrator == "lp")
    options.calibration.calibrator = Calibrator::kLp;
  else if (calibrator == "entropy")
    options.calibration.calibrator = Calibrator::kEntropy;
  else if (calibrator == "minmax")
    options.calibration.calibrator = Calibrator::kMinMax;
  else if (calibrator == "percentile")
    options.calibration.calibrator = Calibrator::kPercentile;
  else if (calibrator == "mse")
    options.calibration.calibrator = Calibrator::kMse;
  else
    fail("--calibrator must be auto, mse, lp, entropy, percentile or minmax, got '" + calibrator +
         "'");
  options.calibration.percentile = flags.get_double("calibPercentile", 99.99);
  check(options.calibration.percentile > 0.0 && options.calibration.percentile <= 100.0,
        "--calibPercentile must be in (0, 100]");
  options.calibration.lp_norm = flags.get_double("calibLp", 0.5);
  check(options.calibration.lp_norm > 0.0 && options.calibration.lp_norm <= 8.0,
        "--calibLp must be in (0, 8]");
  options.calibration.images = flags.get_int("calibImages", 512);
  check(options.calibration.images >= 1, "--calibImages must be at least 1");
  options.layers.keep_first_layer = flags.has("keepFirstLayer");
  options.layers.keep_last_layer = flags.has("keepLastLayer");
  // A bar on a terminal, a line per quarter otherwise (logs).
  options.calibration.progress = [tty = ::isatty(2) != 0, shown = int64_t{-1}](
                                     const char* stage, int64_t done, int64_t total) mutable {
    const int64_t quarter = 4 * done / std::max<int64_t>(total, 1);
    if (!tty && quarter == shown) return;
    shown = quarter;
    const int width = 40, filled = static_cast<int>(width * done / std::max<int64_t>(total, 1));
    std::fprintf(stderr, "%s%s [%s%s] %lld/%lld images%s", tty ? "\r" : "", stage,
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), '.').c_str(),
                 static_cast<long long>(done), static_cast<long long>(total),
                 !tty || done == total ? "\n" : "");
  };
  return options;
}

std::vector<FlagSpec> with_flags(std::vector<FlagSpec> base, const std::vector<FlagSpec>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

}  // namespace qdq::cli
