#include "runtime/cpu_features.h"

#include <cstdlib>

#include "support/status.h"

namespace qdq {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return "ref";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512Vnni:
      return "avx512vnni";
  }
  return "ref";
}

std::vector<std::string> isa_cpu_features(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return {};
    case Isa::kAvx2:
      return {"avx2", "fma"};
    case Isa::kAvx512Vnni:
      return {"avx512f", "avx512bw", "avx512vl", "avx512vnni"};
  }
  return {};
}

std::optional<Isa> isa_from_name(const std::string& name) {
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512Vnni})
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

Isa best_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
    return Isa::kAvx512Vnni;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
  return Isa::kRef;
}

Isa selected_isa() {
  const char* forced = std::getenv("QDQ_ISA");
  if (!forced || !*forced) return best_isa();
  const std::string name = forced;
  if (const auto isa = isa_from_name(name)) {
    check(*isa <= best_isa(), [&] { return "QDQ_ISA=" + name + ": this CPU does not support it"; });
    return *isa;
  }
  fail("QDQ_ISA=" + name + " is not a kernel level (ref, avx2, avx512vnni)");
}

}  // namespace qdq
