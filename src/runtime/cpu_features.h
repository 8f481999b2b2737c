// Which instruction sets this CPU offers, and which one qdq's kernels use.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace qdq {

// Kernel levels, lowest first. kRef is the portable reference code.
// kAvx512Vnni: AVX-512 F/BW/VL with VNNI (vpdpbusd), the Xeons since Cascade Lake.
enum class Isa { kRef, kAvx2, kAvx512Vnni };

const char* isa_name(Isa isa);
std::optional<Isa> isa_from_name(const std::string& name);
// The CPU features (GCC's __builtin_cpu_supports names) a level needs.
std::vector<std::string> isa_cpu_features(Isa isa);
// The best level this CPU runs.
Isa best_isa();
// QDQ_ISA=ref|avx2|avx512vnni forces a level (for tests of each path); otherwise best_isa().
// Forcing a level the CPU lacks is an error.
Isa selected_isa();

}  // namespace qdq
