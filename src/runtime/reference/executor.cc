#include "runtime/reference/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <optional>
#include <unordered_map>

#include "runtime/kernels/registry.h"
#include "runtime/reference/registry.h"
#include "support/parallel.h"

namespace qdq {

void check_input_matches(const Value& input, const Tensor& t, const ShapeRange* range) {
  check(t.dtype() == input.dtype, [&] {
    return "input '" + input.name + "': expected " + dtype_name(input.dtype) + ", got " +
           dtype_name(t.dtype());
  });
  if (range) {
    bool ok = range->min.size() == t.rank() && range->max.size() == t.rank();
    for (size_t i = 0; ok && i < t.rank(); ++i)
      ok = t.dim(i) >= range->min[i] && (range->max[i] < 0 || t.dim(i) <= range->max[i]);
    auto bound = [](const Shape& s) {
      std::string text;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i) text += 'x';
        text += s[i] < 0 ? std::string("any") : std::to_string(s[i]);
      }
      return text;
    };
    check(ok, [&] {
      return "input '" + input.name + "': shape " + shape_to_string(t.shape()) +
             " is outside the plan's range " + bound(range->min) + " .. " + bound(range->max) +
             " (rebuild with other --minShapes/--maxShapes)";
    });
  }
  if (!input.shape) return;
  const SymbolicShape& s = *input.shape;
  bool ok = s.size() == t.rank();
  for (size_t i = 0; ok && i < s.size(); ++i) ok = !s[i].is_known() || s[i].size == t.dim(i);
  check(ok, [&] {
    return "input '" + input.name + "': expected shape " + symbolic_shape_to_string(s) + ", got " +
           shape_to_string(t.shape());
  });
}

std::vector<Tensor> evaluate_node(const Node& node, const std::vector<const Tensor*>& inputs,
                                  int64_t opset) {
  ReferenceKernel kernel = find_reference_kernel(kernel_key(node.domain, node.op_type));
  check(
      kernel != nullptr, [&] { return node.describe() + ": operator is not supported"; },
      ErrorKind::kUnsupported);
  std::vector<Tensor> outputs(node.outputs().size());
  OpContext ctx(node, opset, inputs, outputs);
  kernel(ctx);
  for (const Tensor& t : outputs)
    check(
        !t.empty(), [&] { return node.describe() + ": an output was not produced"; },
        ErrorKind::kInternal);
  return outputs;
}

std::vector<ReferenceExecutor::LayerKernel> ReferenceExecutor::layer_kernels() const {
  std::vector<LayerKernel> out;
  for (const Step& s : steps_) out.push_back({s.node, s.ran});
  return out;
}

void ReferenceExecutor::set_profiling(bool on) {
  profiling_ = on;
  profiled_runs_ = 0;
  for (Step& s : steps_) s.profiled_ms = 0;
}

std::vector<ReferenceExecutor::LayerTime> ReferenceExecutor::profile() const {
  std::vector<LayerTime> out;
  for (const Step& s : steps_) out.push_back({s.node, s.ran, s.profiled_ms});
  return out;
}

void ReferenceExecutor::make_memory_plan(const std::vector<SlotUse>& uses) {
  replan_ = false;
  for (Step& step : steps_) step.plan.assign(step.outputs.size(), PlannedBuffer{});
  // Views extend the life of the storage they view: work on alias roots.
  auto root = [&](int s) {
    while (uses[static_cast<size_t>(s)].alias_of >= 0) s = uses[static_cast<size_t>(s)].alias_of;
    return s;
  };
  std::vector<int> end(uses.size(), -1);
  std::vector<bool> keep(uses.size(), true);  // false: must not be planned
  for (size_t s = 0; s < uses.size(); ++s) {
    if (uses[s].step < 0) continue;
    const int r = root(static_cast<int>(s));
    end[static_cast<size_t>(r)] = std::max(end[static_cast<size_t>(r)], release_step_[s]);
  }
  output_producers_.assign(output_slots_.size(), OutputProducer{});
  for (size_t i = 0; i < output_slots_.size(); ++i) {  // the caller keeps outputs past the run
    const int s = output_slots_[i];
    if (uses[static_cast<size_t>(s)].step < 0) continue;
    const SlotUse& made = uses[static_cast<size_t>(root(s))];  // an output may be a view
    keep[static_cast<size_t>(root(s))] = false;
    if (made.step >= 0 && made.planned_kind)
      output_producers_[i] = {made.step, made.output, made.bytes};
  }
  struct Interval {
    int slot, first, last;
    size_t bytes, offset = 0;
  };
  std::vector<Interval> wanted;
  for (size_t s = 0; s < uses.size(); ++s) {
    const SlotUse& u = uses[s];
    if (u.step < 0 || u.alias_of >= 0 || !u.planned_kind || !keep[s] || u.bytes == 0 ||
        end[s] == std::numeric_limits<int>::max())
      continue;
    wanted.push_back({static_cast<int>(s), u.step, end[s], (u.bytes + 63) / 64 * 64});
  }
  // First fit, largest first, among the intervals live at the same time.
  std::sort(wanted.begin(), wanted.end(),
            [](const Interval& a, const Interval& b) { return a.bytes > b.bytes; });
  std::vector<Interval> placed;
  size_t total = 0;
  for (Interval w : wanted) {
    std::vector<std::pair<size_t, size_t>> busy;  // [offset, end) of overlapping ones
    for (const Interval& p : placed)
      if (p.first <= w.last && w.first <= p.last) busy.emplace_back(p.offset, p.offset + p.bytes);
    std::sort(busy.begin(), busy.end());
    for (const auto& [b0, b1] : busy) {
      if (w.offset + w.bytes <= b0) break;
      w.offset = std::max(w.offset, b1);
    }
    total = std::max(total, w.offset + w.bytes);
    placed.push_back(w);
  }
  check(!max_activation_bytes_ || total <= max_activation_bytes_, [&] {
    return "the activations need " + std::to_string(total >> 20) + " MB, over the limit of " +
           std::to_string(max_activation_bytes_ >> 20) + " MB (raise it with --maxActivationMB)";
  });
  arena_bytes_ = total;
  arena_.reset();
  if (total == 0) return;
  arena_ = std::shared_ptr<void>(std::aligned_alloc(64, total), std::free);
  if (!arena_) throw std::bad_alloc();
  for (const Interval& p : placed) {
    const SlotUse& u = uses[static_cast<size_t>(p.slot)];
    steps_[static_cast<size_t>(u.step)].plan[static_cast<size_t>(u.output)] = {
        std::shared_ptr<void>(arena_, static_cast<uint8_t*>(arena_.get()) + p.offset), u.bytes};
  }
}

Result<ReferenceExecutor> ReferenceExecutor::create(const Graph& graph,
                                                    const ExecutorOptions& options) {
  return catch_errors([&]() -> ReferenceExecutor {
    ReferenceExecutor ex(graph);
    ex.input_ranges_ = options.input_ranges;
    ex.max_activation_bytes_ = options.max_activation_bytes;
    ex.activation_limit_text_ = "the activation memory limit of " +
                                std::to_string(options.max_activation_bytes >> 20) +
                                " MB (raise it with --maxActivationMB)";
    for (const auto& entry : options.input_ranges) {
      // Not a structured binding: lambdas capture those only from C++20 on
      // in clang 16 (the fuzz build's clang 14 refuses).
      const std::string& name = entry.first;
      const ShapeRange& range = entry.second;
      const Value* v = graph.find_value(name);
      check(v && v->is_graph_input,
            [&] { return "a shape range names '" + name + "', not an input"; });
      for (size_t d = 0; v->shape && d < v->shape->size() && d < range.min.size(); ++d) {
        const Dim& dim = (*v->shape)[d];
        check(!dim.is_known() || (range.min[d] == dim.size && range.max[d] == dim.size), [&] {
          return "input '" + name + "': dim " + std::to_string(d) + " is fixed at " +
                 std::to_string(dim.size) + " by the model; a shape range cannot change it";
        });
      }
    }
    std::unordered_map<const Value*, int> slot_of;
    auto slot = [&](const Value* v) {
      auto [it, inserted] = slot_of.emplace(v, static_cast<int>(slot_of.size()));
      if (inserted) {
        ex.slots_.emplace_back();
        if (v->is_constant()) {
          ex.slots_.back() = *v->constant;
          ex.weight_bytes_ += v->constant->nbytes();
        }
      }
      return it->second;
    };
    for (Value* v : graph.inputs()) ex.input_slots_.push_back(slot(v));
    std::unordered_map<int, size_t> last_reader;
    for (Node* n : graph.topological_order()) {
      const std::string key = kernel_key(n->domain, n->op_type);
      ReferenceKernel kernel = find_reference_kernel(key);
      if (!kernel) {
        const std::string where = n->domain.empty() ? "" : " in domain '" + n->domain + "'";
        fail(n->describe() + ": operator" + where + " is not supported", ErrorKind::kUnsupported);
      }
      Isa isa = Isa::kRef;
      if (ReferenceKernel fast = find_optimized_kernel(key, options.isa)) {
        kernel = fast;
        isa = optimized_kernel_isa(key, options.isa);
      }
      Step step{n, kernel, isa, {isa, nullptr}, nullptr, {}, {}, {}, 0, {}, {}, {}};
      step.args.resize(n->inputs().size());
      step.results.resize(n->outputs().size());
      for (Value* in : n->inputs()) {
        step.inputs.push_back(in ? slot(in) : -1);
        if (in && !in->is_constant()) last_reader[step.inputs.back()] = ex.steps_.size();
      }
      for (Value* out : n->outputs()) {
        step.outputs.push_back(slot(out));
        last_reader[step.outputs.back()] = ex.steps_.size();  // unread outputs die at once
      }
      ex.steps_.push_back(std::move(step));
    }
    for (Value* v : graph.outputs()) {
      ex.output_slots_.push_back(slot(v));
      last_reader.erase(ex.output_slots_.back());  // outputs live to the end
    }
    for (int s : ex.input_slots_) last_reader.erase(s);  // caller-owned anyway
    ex.release_step_.assign(ex.slots_.size(), std::numeric_limits<int>::max());
    for (auto [s, step] : last_reader) {
      ex.steps_[step].release.push_back(s);
      ex.release_step_[static_cast<size_t>(s)] = static_cast<int>(step);
    }
    for (size_t s = 0; s < ex.slots_.size(); ++s)
      if (ex.slots_[s].empty()) ex.activation_slots_.push_back(static_cast<int>(s));
    return ex;
  });
}

void ReferenceExecutor::clear_activations() {
  for (int s : activation_slots_) slots_[static_cast<size_t>(s)] = Tensor();
}

Result<std::vector<Tensor>> ReferenceExecutor::run(const std::map<std::string, Tensor>& inputs) {
  std::vector<Tensor> outputs;
  Status status = run(inputs, outputs);
  if (!status.is_ok()) return status;
  return outputs;
}

Status ReferenceExecutor::run(const std::map<std::string, Tensor>& inputs,
                              std::vector<Tensor>& outputs) {
  // The caller's last outputs that only it holds, of last run's size, are
  // lent to the kernels that make them (aligned as the kernels expect).
  for (size_t i = 0; i < output_producers_.size() && i < outputs.size(); ++i) {
    const OutputProducer& p = output_producers_[i];
    const Tensor& last = outputs[i];
    if (p.step >= 0 && last.storage().use_count() == 1 && last.nbytes() == p.bytes &&
        last.raw() == last.storage().get() && reinterpret_cast<uintptr_t>(last.raw()) % 64 == 0)
      steps_[static_cast<size_t>(p.step)].plan[static_cast<size_t>(p.output)] = {last.storage(),
                                                                                 p.bytes};
  }
  // One team of threads for the whole run: the layers' parallel regions
  // hand work to threads that are already waiting (support/parallel.h).
  auto result = catch_errors([&] {
    with_team([&] { run_steps(inputs, outputs); });
    return true;
  });
  for (const OutputProducer& p : output_producers_)  // a replan may have dropped them already
    if (p.step >= 0 &&
        static_cast<size_t>(p.output) < steps_[static_cast<size_t>(p.step)].plan.size())
      steps_[static_cast<size_t>(p.step)].plan[static_cast<size_t>(p.output)] = PlannedBuffer{};
  clear_activations();
  return result.status();
}

void ReferenceExecutor::run_steps(const std::map<std::string, Tensor>& inputs,
                                  std::vector<Tensor>& outputs) {
  clear_activations();  // what a failed run left
  std::vector<Tensor>& slots = slots_;
  for (size_t i = 0; i < graph_->inputs().size(); ++i) {
    const Value& v = *graph_->inputs()[i];
    auto it = inputs.find(v.name);
    check(it != inputs.end(), [&] { return "input '" + v.name + "' was not given"; });
    auto range = input_ranges_.find(v.name);
    check_input_matches(v, it->second, range == input_ranges_.end() ? nullptr : &range->second);
    slots[input_slots_[i]] = it->second;
  }
  for (const auto& entry : inputs) {
    const std::string& name = entry.first;  // captured below: not a structured binding
    const Value* v = graph_->find_value(name);
    check(v && v->is_graph_input, [&] { return "'" + name + "' is not an input of the model"; });
  }
  using Clock = std::chrono::steady_clock;
  size_t live = 0;
  peak_activation_bytes_ = 0;
  // A run without a (fitting) plan records what the plan needs.
  const bool recording = replan_;
  std::vector<SlotUse> uses(recording ? slots.size() : 0);
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& step = steps_[i];
    for (size_t k = 0; k < step.inputs.size(); ++k)
      step.args[k] = step.inputs[k] < 0 ? nullptr : &slots[static_cast<size_t>(step.inputs[k])];
    step.ran = {step.isa, nullptr};
    OpContext ctx(*step.node, graph_->opset, step.args, step.results, &step.state, &step.plan,
                  &step.ran);
    std::optional<ScopedTensorLimit> limit;
    if (max_activation_bytes_)
      limit.emplace(max_activation_bytes_ - std::min(live, max_activation_bytes_),
                    &activation_limit_text_);
    const auto start = profiling_ ? Clock::now() : Clock::time_point();
    step.kernel(ctx);
    if (profiling_)
      step.profiled_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    for (size_t k = 0; k < step.outputs.size(); ++k) {
      Tensor& out = ctx.output(k);
      check(
          !out.empty(),
          [&] {
            return step.node->describe() + ": output " + std::to_string(k) + " was not produced";
          },
          ErrorKind::kInternal);
      live += out.nbytes();
      const int slot = step.outputs[k];
      if (recording) {
        SlotUse& use = uses[static_cast<size_t>(slot)];
        use = {static_cast<int>(i), static_cast<int>(k), out.nbytes(), ctx.allocated(k), -1};
        const auto* begin = static_cast<const uint8_t*>(out.raw());
        for (int in : step.inputs) {  // a view of an input (Reshape, Identity)
          if (in < 0 || slots[in].empty()) continue;
          const auto* base = static_cast<const uint8_t*>(slots[in].raw());
          if (begin >= base && begin < base + std::max<size_t>(1, slots[in].nbytes()))
            use.alias_of = in;
        }
      } else if (k < step.plan.size() && step.plan[k].storage &&
                 out.raw() != step.plan[k].storage.get()) {
        replan_ = true;  // shapes changed: plan again from the next run
      }
      slots[slot] = std::move(out);
      out = Tensor();  // empty again for the next run's "not produced" check
    }
    peak_activation_bytes_ = std::max(peak_activation_bytes_, live);
    if (observer_) {
      std::vector<Tensor> outs;
      for (int s : step.outputs) outs.push_back(slots[s]);
      observer_(*step.node, outs);
    }
    for (int s : step.release) {
      live -= std::min(live, slots[s].nbytes());
      slots[s] = Tensor();
    }
  }
  profiled_runs_ += profiling_;
  if (recording) make_memory_plan(uses);
  outputs.resize(output_slots_.size());
  for (size_t i = 0; i < output_slots_.size(); ++i)
    outputs[i] = slots[static_cast<size_t>(output_slots_[i])];
}

}  // namespace qdq
