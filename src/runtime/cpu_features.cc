#include "runtime/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <iterator>

#include "support/status.h"

namespace qdq {
namespace {

constexpr Isa kIsas[] = {Isa::kRef, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512Vnni, Isa::kAmxInt8};

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return "ref";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvxVnni:
      return "avxvnni";
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
    case Isa::kAvxVnni:
      return {"avx2", "fma", "avx-vnni"};
    case Isa::kAvx512Vnni:
      return {"avx512f", "avx512bw", "avx512vl", "avx512vnni"};
    case Isa::kAmxInt8:
      return {"avx512f", "avx512bw", "avx512vl", "avx512vnni", "amx-tile", "amx-int8"};
  }
  return {};
}

std::optional<Isa> isa_from_name(const std::string& name) {
  for (Isa isa : kIsas)
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

namespace {

// CPUID leaf 7 read directly (clang's __builtin_cpu_supports knows neither
// name): sub-leaf 0 EDX bit 24 AMX-TILE, bit 25 AMX-INT8; sub-leaf 1 EAX bit 4
// AVX-VNNI.
bool cpuid_leaf7_bit(unsigned subleaf, bool edx_register, unsigned bit) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, subleaf, &eax, &ebx, &ecx, &edx)) return false;
  return ((edx_register ? edx : eax) >> bit & 1) != 0;
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

bool isa_supported(Isa isa) {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni");
  switch (isa) {
    case Isa::kRef:
      return true;
    case Isa::kAvx2:
      return avx2;
    case Isa::kAvxVnni:
      return avx2 && cpuid_leaf7_bit(1, false, 4);
    case Isa::kAvx512Vnni:
      return avx512vnni;
    case Isa::kAmxInt8:
      return avx512vnni && cpuid_leaf7_bit(0, true, 24) && cpuid_leaf7_bit(0, true, 25) &&
             amx_tile_state_granted();
  }
  return false;
}

bool isa_includes(Isa level, Isa kernel) {
  return kernel <= level && (kernel != Isa::kAvxVnni || level == Isa::kAvxVnni);
}

Isa runnable_isa(Isa level) {
  for (auto it = std::rbegin(kIsas); it != std::rend(kIsas); ++it)
    if (*it <= level && isa_supported(*it)) return *it;
  return Isa::kRef;
}

Isa best_isa() { return runnable_isa(Isa::kAmxInt8); }

Isa selected_isa() {
  const char* forced = std::getenv("QDQ_ISA");
  if (!forced || !*forced) return best_isa();
  const std::string name = forced;
  if (const auto isa = isa_from_name(name)) {
    check(isa_supported(*isa),
          [&] { return "QDQ_ISA=" + name + ": this CPU does not support it"; });
    return *isa;
  }
  fail("QDQ_ISA=" + name + " is not a kernel level (ref, avx2, avxvnni, avx512vnni, amx)");
}

int64_t l2_cache_bytes() {
  static const int64_t bytes = [] {
    const long reported = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return reported > 0 ? int64_t{reported} : int64_t{512} * 1024;
  }();
  return bytes;
}

}  // namespace qdq
