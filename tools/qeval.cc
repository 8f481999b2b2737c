// qeval: accuracy of a model over a labeled dataset, FP32 or INT8, optionally
// side by side with a reference model. Flags and output lines per CONTRACT.md.
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/calibration_flags.h"
#include "cli/flags.h"
#include "cli/report.h"
#include "data/accuracy.h"
#include "data/dataset.h"
#include "graph/onnx_import.h"
#include "runtime/engine.h"
#include "runtime/plan.h"
#include "runtime/reference/registry.h"
#include "runtime/timing.h"

namespace qdq {
namespace {

const std::vector<cli::FlagSpec> kFlags = cli::with_flags(
    {
        {"help", false, "print this help"},
        {"onnx", true, "model to evaluate"},
        {"loadEngine", true, "plan to evaluate (written by qexec --saveEngine)"},
        {"dataset", true,
         "cifar10:PATH (test_batch.bin or its folder); imagenet:DIR (class folders, or flat + "
         "--labels)"},
        {"int8", false, "evaluate the INT8 engine (QDQ models)"},
        {"limit", true, "first N images"},
        {"labelOffset", true, "model class = dataset class + N"},
        {"batch", true,
         "inference batch (default 32; a model with a fixed batch dim uses its own)"},
        {"threads", true, "worker threads (default: all cores)"},
        {"compare", true,
         "reference model: also report top-1 agreement and mean |logit difference|"},
        {"json", true, "write the result as JSON"},
        {"verbose", false, "per-class accuracy"},
        {"report", true,
         "report mode: a list of models, one row per line: 'Name fp32=F qat=F ptq=F' (any of the "
         "three; "
         "paths relative to the list)"},
        {"markdown", true, "report mode: also write the table to this file"},
    },
    cli::image_flag_specs());

// qexec's default activation limit (qexec --maxActivationMB says more).
constexpr size_t kMaxActivationBytes = size_t{8} << 30;

struct LoadedModel {
  std::unique_ptr<Graph> graph;  // the engine refers to it
  std::unique_ptr<Engine> engine;
  std::string input;
  int64_t fixed_batch = 0;  // 0: dynamic
};

// An ONNX model, built now (`int8`: the INT8 engine), or a plan built before.
std::unique_ptr<LoadedModel> load(const std::string& path, bool int8, bool is_plan) {
  auto m = std::make_unique<LoadedModel>();
  if (is_plan) {
    auto plan = load_plan(path, selected_isa(), kMaxActivationBytes);
    if (!plan.is_ok()) throw Error(plan.status().message(), plan.status().kind());
    for (const auto& w : plan->warnings) std::cerr << "warning: " << w << "\n";
    m->graph = std::move(plan->graph);
    m->engine = std::make_unique<Engine>(std::move(plan->engine));
  } else {
    auto imported = import_onnx_file(path, runtime_import_options());
    if (!imported.is_ok()) throw Error(imported.status().message(), imported.status().kind());
    m->graph = std::make_unique<Graph>(std::move(imported->graph));
  }
  Graph& g = *m->graph;
  check(g.inputs().size() == 1, path + ": qeval needs a model with one image input");
  check(g.outputs().size() >= 1, path + ": model has no outputs");
  const Value* in = g.inputs()[0];
  m->input = in->name;
  check(in->dtype == DType::kFloat32 && in->shape && in->shape->size() == 4,
        path + ": input '" + in->name + "' must be float32 [N, C, H, W]");
  if ((*in->shape)[0].is_known()) m->fixed_batch = (*in->shape)[0].size;
  if (is_plan) {
    const auto& ranges = m->engine->executor.input_ranges();
    auto range = ranges.find(in->name);
    if (range != ranges.end() && range->second.min[0] == range->second.max[0])
      m->fixed_batch = range->second.min[0];
    return m;
  }
  auto engine = build_engine(g, EngineOptions{int8, selected_isa(), {}, kMaxActivationBytes, {}});
  if (!engine.is_ok()) throw Error(path + ": " + engine.status().message(), engine.status().kind());
  m->engine = std::make_unique<Engine>(std::move(engine.value()));
  return m;
}

Tensor run_model(LoadedModel& m, const Tensor& images) {
  auto r = m.engine->executor.run({{m.input, images}});
  if (!r.is_ok()) throw Error(r.status().message(), r.status().kind());
  return r.value()[0];
}

// `images` [n, ...] padded to `batch` rows by repeating the last one.
Tensor pad_batch(const Tensor& images, int64_t batch) {
  Shape shape = images.shape();
  const int64_t n = shape[0], per = images.numel() / std::max<int64_t>(n, 1);
  shape[0] = batch;
  Tensor out(DType::kFloat32, shape);
  for (int64_t i = 0; i < batch; ++i)
    std::copy_n(images.data<float>() + std::min(i, n - 1) * per, per, out.data<float>() + i * per);
  return out;
}

// Rows [first, first + n) of a [batch, classes] output.
Tensor rows(const Tensor& t, int64_t first, int64_t n) {
  if (first == 0 && (t.rank() == 0 || t.dim(0) == n)) return t;
  check(t.rank() == 2 && t.dtype() == DType::kFloat32,
        "the model's output is not a class vector: " + shape_to_string(t.shape()));
  Tensor out(DType::kFloat32, {n, t.dim(1)});
  std::copy_n(t.data<float>() + first * t.dim(1), n * t.dim(1), out.data<float>());
  return out;
}

struct Evaluation {
  AccuracyCounter counter{0};
  double seconds = 0;
  int64_t skipped = 0;
};

// Top-1/top-5 of `model` over the first `count` images (and agreement with
// `reference` when given), with progress on stderr: a bar on a terminal,
// a line every 10 s otherwise.
Evaluation evaluate(LoadedModel& model, LoadedModel* reference, const Dataset& dataset,
                    int64_t count, int64_t batch, int64_t label_offset) {
  Evaluation result;
  AccuracyCounter& counter = result.counter;
  int64_t& skipped = result.skipped;
  bool counter_ready = false;
  const bool tty = ::isatty(2);
  const auto start = std::chrono::steady_clock::now();
  double last_report = 0.0;
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t n = std::min(batch, count - first);
    ImageBatch images = dataset.load(first, n);
    for (const std::string& why : images.skipped) std::cerr << "warning: skipped " << why << "\n";
    skipped += static_cast<int64_t>(images.skipped.size());
    const int64_t kept = static_cast<int64_t>(images.labels.size());
    if (kept == 0) continue;
    // A fixed-batch model gets whole batches: a short one is padded by repeating
    // its last image, and only the real rows count.
    Tensor x = model.fixed_batch && kept < batch ? pad_batch(images.images, batch) : images.images;
    Tensor logits = rows(run_model(model, x), 0, kept);
    std::optional<Tensor> ref_logits;
    if (reference) ref_logits = rows(run_model(*reference, x), 0, kept);
    if (!counter_ready) {
      check(logits.rank() == 2,
            "the model's output is not a class vector: shape " + shape_to_string(logits.shape()));
      counter = AccuracyCounter(logits.dim(1));
      counter_ready = true;
    }
    for (int64_t& label : images.labels) label += label_offset;
    counter.add(logits, images.labels, ref_logits ? &*ref_logits : nullptr);

    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int64_t done = first + n;
    if (tty || elapsed - last_report >= 10.0 || done == count) {
      const double rate = done / std::max(elapsed, 1e-9);
      char line[160];
      std::snprintf(line, sizeof line, "%s%lld/%lld images  %.1f img/s  top1 %.2f %%  ETA %.0f s%s",
                    tty ? "\r" : "", static_cast<long long>(done), static_cast<long long>(count),
                    rate, counter.top1(), (count - done) / std::max(rate, 1e-9), tty ? "" : "\n");
      std::cerr << line << std::flush;
      last_report = elapsed;
    }
  }
  if (tty) std::cerr << "\n";
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

struct ReportRow {
  std::string name;
  std::map<std::string, std::filesystem::path> files;  // fp32, qat, ptq
};

std::vector<ReportRow> read_report_list(const std::filesystem::path& path) {
  std::ifstream in(path);
  check(static_cast<bool>(in), "--report: cannot open " + path.string());
  std::vector<ReportRow> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream words(line.substr(0, line.find('#')));
    ReportRow row;
    if (!(words >> row.name)) continue;
    const std::string where = path.string() + ":" + std::to_string(number) + ": ";
    for (std::string word; words >> word;) {
      const size_t eq = word.find('=');
      const std::string key = word.substr(0, eq);
      check(eq != std::string::npos && (key == "fp32" || key == "qat" || key == "ptq"),
            where + "'" + word + "' is not fp32=F, qat=F or ptq=F");
      row.files[key] = path.parent_path() / word.substr(eq + 1);
      check(std::filesystem::is_regular_file(row.files[key]),
            where + row.files[key].string() + " does not exist");
    }
    check(!row.files.empty(), where + "no model files (fp32=F, qat=F, ptq=F)");
    rows.push_back(std::move(row));
  }
  check(!rows.empty(), "--report: " + path.string() + " lists no models");
  return rows;
}

// Median batch-1 latency of an engine on a real image, as qexec times it.
double median_latency_ms(LoadedModel& model, const Dataset& dataset) {
  ImageBatch first = dataset.load(0, 1);
  check(!first.labels.empty(), "the dataset's first image is unreadable");
  const Tensor x =
      model.fixed_batch > 1 ? pad_batch(first.images, model.fixed_batch) : first.images;
  TimingOptions timing{100.0, 20, 0.5};
  return summarize_latencies(time_iterations(timing, [&] { run_model(model, x); })).median;
}

// The table users publish: per model, FP32 / INT8 QAT / INT8 PTQ top-1, then
// latency and size of the FP32 and INT8 engines (INT8: the PTQ model where
// there is one, else the QAT one).
int run_report(const cli::Flags& flags, const Dataset& dataset, int64_t count, int64_t batch,
               int64_t label_offset) {
  const auto rows = read_report_list(flags.get("report"));
  auto cell = [](double v, const char* format) {
    char text[32];
    std::snprintf(text, sizeof text, format, v);
    return std::string(text);
  };
  std::string table =
      "| Model | FP32 | INT8 QAT | INT8 PTQ | latency FP32 (ms) | latency INT8 (ms) | size FP32 → "
      "INT8 (MB) |\n|---|---|---|---|---|---|---|\n";
  for (const ReportRow& row : rows) {
    std::map<std::string, std::string> top1;
    std::map<std::string, double> latency;
    // The INT8 engine timed: the PTQ model's where there is one.
    const std::string timed_int8 = row.files.count("ptq") ? "ptq" : "qat";
    for (const char* kind : {"fp32", "qat", "ptq"}) {
      auto file = row.files.find(kind);
      if (file == row.files.end()) continue;
      const bool int8 = std::string(kind) != "fp32";
      std::cerr << row.name << " " << kind << ": " << file->second.string() << "\n";
      auto model = load(file->second.string(), int8, false);
      const int64_t model_batch = model->fixed_batch ? model->fixed_batch : batch;
      const Evaluation e = evaluate(*model, nullptr, dataset, count, model_batch, label_offset);
      top1[kind] = cell(e.counter.top1(), "%.2f");
      if (!int8 || kind == timed_int8)
        latency[int8 ? "int8" : "fp32"] = median_latency_ms(*model, dataset);
    }
    auto size = [&](const char* kind) {
      auto file = row.files.find(kind);
      return file == row.files.end()
                 ? std::string()
                 : cell(static_cast<double>(std::filesystem::file_size(file->second)) / 1e6,
                        "%.1f");
    };
    const std::string int8_size = size(timed_int8.c_str());
    auto text = [](const std::map<std::string, std::string>& m, const char* key) {
      auto it = m.find(key);
      return it == m.end() ? std::string("—") : it->second;
    };
    std::map<std::string, std::string> ms;
    for (const auto& [key, value] : latency) ms[key] = cell(value, "%.3f");
    table += "| " + row.name + " | " + text(top1, "fp32") + " | " + text(top1, "qat") + " | " +
             text(top1, "ptq") + " | " + text(ms, "fp32") + " | " + text(ms, "int8") + " | " +
             (size("fp32").empty() ? "—" : size("fp32")) + " → " +
             (int8_size.empty() ? "—" : int8_size) + " |\n";
  }
  table += "\ntop-1 (%) on " + std::to_string(count) + " images of " + flags.get("dataset") +
           "; latency: median, batch 1, " + std::to_string(omp_get_max_threads()) +
           " threads, isa=" + isa_name(selected_isa()) +
           "; both latencies are qdq's engines (FP32: Q/DQ-level fusions, float kernels); "
           "ONNX Runtime's side by side: bench/run\n";
  std::cout << table;
  if (flags.has("markdown")) cli::write_file_atomically(flags.get("markdown"), table);
  return 0;
}

int run(int argc, char** argv) {
  const auto flags = cli::Flags::parse(argc, argv, kFlags);
  if (flags.has("help")) {
    std::cout << cli::usage_text(
        "qeval --onnx=model.onnx --dataset=cifar10:PATH [--int8] [options]", kFlags);
    return 0;
  }
  check(flags.has("report") || flags.has("onnx") != flags.has("loadEngine"),
        flags.has("onnx") ? "give --onnx or --loadEngine, not both"
                          : "no model given: use --onnx=model.onnx or --loadEngine=model.plan "
                            "(see --help)");
  check(!(flags.has("loadEngine") && flags.has("int8")),
        "--int8 is a build flag: a plan keeps the precision it was built with");
  check(flags.has("dataset"),
        "no dataset given: use --dataset=cifar10:PATH or imagenet:DIR (see --help)");
  const int threads = static_cast<int>(flags.get_int("threads", omp_get_num_procs()));
  check(threads >= 1 && threads <= 1024, "--threads must be between 1 and 1024");
  omp_set_num_threads(threads);

  const DatasetOptions options = cli::parse_image_flags(flags);
  const std::string spec = flags.get("dataset");
  const auto dataset = Dataset::open(spec, options);
  const int64_t limit = flags.get_int("limit", dataset->size());
  check(limit >= 1, "--limit must be at least 1");
  const int64_t count = std::min(limit, dataset->size());
  const int64_t label_offset = flags.get_int("labelOffset", 0);

  if (flags.has("report")) {
    check(!flags.has("onnx") && !flags.has("loadEngine") && !flags.has("int8") &&
              !flags.has("compare"),
          "--report takes its models from the list: no --onnx, --loadEngine, --int8 or --compare");
    return run_report(flags, *dataset, count, flags.get_int("batch", 32), label_offset);
  }
  const bool from_plan = flags.has("loadEngine");
  auto model = load(flags.get(from_plan ? "loadEngine" : "onnx"), flags.has("int8"), from_plan);
  std::unique_ptr<LoadedModel> reference;
  if (flags.has("compare")) reference = load(flags.get("compare"), false, false);
  int64_t batch = flags.get_int("batch", 32);
  check(batch >= 1, "--batch must be at least 1");
  if (model->fixed_batch) batch = model->fixed_batch;
  check(!reference || !reference->fixed_batch || reference->fixed_batch == batch,
        "the reference model's fixed batch differs from the model's");

  const Evaluation result = evaluate(*model, reference.get(), *dataset, count, batch, label_offset);
  const AccuracyCounter& counter = result.counter;
  const double seconds = result.seconds;
  const int64_t skipped = result.skipped;

  if (flags.has("verbose"))
    for (int64_t c = 0; c < counter.classes(); ++c)
      std::printf("class %lld: %.2f %%\n", static_cast<long long>(c), counter.class_accuracy(c));
  std::printf("images/s = %.1f   engine = %s isa=%s\n",
              static_cast<double>(counter.images()) / seconds,
              model->engine->int8 ? "int8" : "fp32", isa_name(model->engine->isa));
  if (skipped)
    std::printf("skipped = %lld unreadable images (listed above as warnings)\n",
                static_cast<long long>(skipped));
  std::printf("top1 = %.2f %%  top5 = %.2f %%  images = %lld\n", counter.top1(), counter.top5(),
              static_cast<long long>(counter.images()));
  if (reference)
    std::printf("agreement = %.2f %%   mean |logit difference| = %.6f\n", counter.agreement(),
                counter.mean_abs_logit_difference());
  if (flags.has("json")) {
    std::string json = "{\"model\": \"" +
                       cli::json_escape(flags.get(from_plan ? "loadEngine" : "onnx")) +
                       "\", \"dataset\": \"" + cli::json_escape(spec) +
                       "\", \"int8\": " + (model->engine->int8 ? "true" : "false") +
                       ", \"images\": " + std::to_string(counter.images()) +
                       ", \"top1\": " + cli::json_number(counter.top1()) +
                       ", \"top5\": " + cli::json_number(counter.top5()) +
                       ", \"images_per_second\": " + cli::json_number(counter.images() / seconds);
    if (reference)
      json += ", \"agreement\": " + cli::json_number(counter.agreement()) +
              ", \"mean_abs_logit_difference\": " +
              cli::json_number(counter.mean_abs_logit_difference());
    cli::write_file_atomically(flags.get("json"), json + "}\n");
  }
  return 0;
}

}  // namespace
}  // namespace qdq

int main(int argc, char** argv) {
  return qdq::cli::run_tool([&] { return qdq::run(argc, argv); });
}
