#include "runtime/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

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
    case Isa::kAmxInt8:
      return "amx";
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
    case Isa::kAmxInt8:
      return {"avx512f", "avx512bw", "avx512vl", "avx512vnni", "amx-tile", "amx-int8"};
  }
  return {};
}

std::optional<Isa> isa_from_name(const std::string& name) {
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512Vnni, Isa::kAmxInt8})
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

namespace {

// CPUID leaf 7: EDX bit 24 AMX-TILE, bit 25 AMX-INT8 (read directly: clang's
// __builtin_cpu_supports knows no AMX names).
bool amx_int8_in_cpuid() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return (edx >> 24 & 1) && (edx >> 25 & 1);
}

// Linux keeps a process out of the AMX tile state until it asks
// (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); the grant is process-wide.
bool amx_tile_state_granted() {
  static const bool granted = [] {
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return granted;
}

}  // namespace

Isa best_isa() {
  __builtin_cpu_init();
  const bool avx512vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni");
  if (avx512vnni && amx_int8_in_cpuid() && amx_tile_state_granted()) return Isa::kAmxInt8;
  if (avx512vnni) return Isa::kAvx512Vnni;
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
  fail("QDQ_ISA=" + name + " is not a kernel level (ref, avx2, avx512vnni, amx)");
}

}  // namespace qdq
