#include "runtime/kernels/registry.h"

namespace qdq {
namespace {

struct KernelEntry {
  Isa isa;
  const char* op_type;
  ReferenceKernel kernel;
};

const KernelEntry kKernels[] = {
#define QDQ_KERNEL(isa, op, function) {Isa::isa, op, function},
#include "runtime/kernels/kernels.inc"
#undef QDQ_KERNEL
};

const KernelEntry* find(const std::string& op_type, Isa isa) {
  const KernelEntry* best = nullptr;
  for (const KernelEntry& e : kKernels)
    if (op_type == e.op_type && isa_includes(isa, e.isa) && (!best || e.isa > best->isa)) best = &e;
  return best;
}

}  // namespace

ReferenceKernel find_optimized_kernel(const std::string& op_type, Isa isa) {
  const KernelEntry* e = find(op_type, isa);
  return e ? e->kernel : nullptr;
}

Isa optimized_kernel_isa(const std::string& op_type, Isa isa) {
  const KernelEntry* e = find(op_type, isa);
  return e ? e->isa : Isa::kRef;
}

}  // namespace qdq
