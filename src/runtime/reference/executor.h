// The reference executor: runs a Graph node by node with the reference kernels.
// It is the oracle the optimized engine is tested against, and the FP32 path of
// qexec (Q/DQ nodes simulated exactly as ONNX defines them).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "runtime/cpu_features.h"
#include "runtime/reference/op_context.h"
#include "support/status.h"

namespace qdq {

// The shapes an input may take (a plan built with --minShapes/--maxShapes):
// per dim, min <= size <= max; max -1 is unbounded. opt is what the plan was
// prepared for.
struct ShapeRange {
  Shape min, opt, max;
};

struct ExecutorOptions {
  // Kernel level: kRef runs the reference kernels only; higher levels use the
  // optimized kernel of kernels.inc where one exists (bit-identical results).
  Isa isa = Isa::kRef;
  std::map<std::string, ShapeRange> input_ranges;  // inputs not named: any shape the model allows
  // Activation memory a run may hold at once (0: only the per-tensor cap);
  // checked before each allocation.
  size_t max_activation_bytes = 0;
};

class ReferenceExecutor {
 public:
  // Fails (unsupported op or domain) before anything runs. `graph` must outlive
  // the executor.
  static Result<ReferenceExecutor> create(const Graph& graph, const ExecutorOptions& options = {});

  // Inputs by graph-input name; outputs in graph-output order.
  Result<std::vector<Tensor>> run(const std::map<std::string, Tensor>& inputs);
  // The same into `outputs`, reusing what it holds from the last run: an
  // output tensor nobody else holds and of the same size is written in place,
  // so a loop of runs allocates nothing once the first has run.
  Status run(const std::map<std::string, Tensor>& inputs, std::vector<Tensor>& outputs);

  // Called after each node with its outputs (layer-by-layer comparisons).
  using NodeObserver = std::function<void(const Node&, const std::vector<Tensor>&)>;
  void set_observer(NodeObserver observer) { observer_ = std::move(observer); }

  size_t weight_bytes() const { return weight_bytes_; }
  // The activation memory: the planned arena once there is one, else the
  // largest sum of live intermediate tensors seen in the last run.
  size_t peak_activation_bytes() const {
    return arena_bytes_ ? arena_bytes_ : peak_activation_bytes_;
  }
  size_t layer_count() const { return steps_.size(); }
  // Layer i's kernel state (packed weights, made on the first run): what a
  // plan saves, and restores before the first run.
  std::shared_ptr<void>& layer_state(size_t i) { return steps_.at(i).state; }
  const std::map<std::string, ShapeRange>& input_ranges() const { return input_ranges_; }
  // What ran each layer in the last run (before any, the level of the
  // kernel chosen for it), in execution order.
  struct LayerKernel {
    const Node* node;
    KernelRun ran;
  };
  std::vector<LayerKernel> layer_kernels() const;

  // Per-layer wall time, accumulated over the runs made while profiling is on.
  struct LayerTime {
    const Node* node;
    KernelRun ran;
    double total_ms;
  };
  void set_profiling(bool on);  // also clears what was accumulated
  std::vector<LayerTime> profile() const;
  int64_t profiled_runs() const { return profiled_runs_; }

 private:
  struct Step {
    const Node* node;
    ReferenceKernel kernel;
    Isa isa;                      // the chosen kernel's level
    KernelRun ran;                // the code that ran it last (OpContext::ran_at, ran_form)
    std::shared_ptr<void> state;  // the kernel's (packed weights), made on the first run
    std::vector<int> inputs;      // slot per input, -1 for an absent optional one
    std::vector<int> outputs;
    std::vector<int> release;  // slots whose last reader is this step
    double profiled_ms = 0;
    std::vector<PlannedBuffer> plan;  // per output, from the memory plan
    // The kernel's input pointers and its outputs, kept between runs so that
    // a run does not allocate them.
    std::vector<const Tensor*> args;
    std::vector<Tensor> results;
  };
  // What a run records for the memory plan, per slot.
  struct SlotUse {
    int step = -1, output = 0;  // producer
    size_t bytes = 0;
    bool planned_kind = false;  // its kernel asked for it via allocate_output
    int alias_of = -1;          // the slot whose storage it shares (a view)
  };
  // Liveness-based arena: outputs that live at different times share memory.
  void make_memory_plan(const std::vector<SlotUse>& uses);
  // run()'s steps: fills outputs, throws on failure.
  void run_steps(const std::map<std::string, Tensor>& inputs, std::vector<Tensor>& outputs);
  // Empties every slot that is not a constant (what a run, or a failed run,
  // left there).
  void clear_activations();
  explicit ReferenceExecutor(const Graph& graph) : graph_(&graph) {}

  const Graph* graph_;
  std::vector<Step> steps_;
  // Slot-indexed: the constants, and a run's tensors while it runs.
  std::vector<Tensor> slots_;
  std::vector<int> activation_slots_;  // those that are not constants
  // Per graph output, from the memory plan: the step and output index that
  // make it into memory of its own (step -1: none) and its bytes last run,
  // which the caller's last output of that size may lend.
  struct OutputProducer {
    int step = -1, output = 0;
    size_t bytes = 0;
  };
  std::vector<OutputProducer> output_producers_;
  std::vector<int> input_slots_, output_slots_;
  size_t weight_bytes_ = 0;
  size_t peak_activation_bytes_ = 0;
  std::vector<int> release_step_;  // per slot: the step after which it dies (INT_MAX: never)
  std::shared_ptr<void> arena_;
  size_t arena_bytes_ = 0;
  bool replan_ = true;
  std::map<std::string, ShapeRange> input_ranges_;
  size_t max_activation_bytes_ = 0;
  std::string activation_limit_text_;  // the error's words, made once
  NodeObserver observer_;
  bool profiling_ = false;
  int64_t profiled_runs_ = 0;
};

// Runs one node's reference kernel on the given inputs (constant folding).
// Throws qdq::Error when the op is unsupported or the inputs are invalid.
std::vector<Tensor> evaluate_node(const Node& node, const std::vector<const Tensor*>& inputs,
                                  int64_t opset);

// Checks a runtime tensor against a graph input's declared type and shape, and
// the range it was given (nullptr: none).
void check_input_matches(const Value& input, const Tensor& t, const ShapeRange* range = nullptr);

}  // namespace qdq
