// Which instruction sets this CPU offers, which one qdq's kernels use, and
// the L2 size their work split plans for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qdq {

// Kernel levels, lowest first. kRef is the portable reference code.
// kAvxVnni: AVX2 with AVX-VNNI (VEX vpdpbusd on ymm), Intel's cores since
// Alder Lake, which lack AVX-512. Not implied by the levels above it: Zen 4
// and the Xeons before Sapphire Rapids have AVX-512 VNNI without it.
// kAvx512Vnni: AVX-512 F/BW/VL with VNNI (vpdpbusd), the Xeons since Cascade Lake.
// kAmxInt8: AMX tiles with int8 products (tdpbusd) beside AVX-512 VNNI, the
// Xeons since Sapphire Rapids; usable once Linux grants the process the tile
// state (arch_prctl), which best_isa() asks for.
enum class Isa { kRef, kAvx2, kAvxVnni, kAvx512Vnni, kAmxInt8 };

const char* isa_name(Isa isa);
std::optional<Isa> isa_from_name(const std::string& name);
// The CPU features a level needs (GCC's __builtin_cpu_supports names; AMX's as
// Linux's /proc/cpuinfo spells them, with a dash).
std::vector<std::string> isa_cpu_features(Isa isa);
// Whether this CPU (and the OS, for AMX) runs the level's kernels.
bool isa_supported(Isa isa);
// Whether a kernel of level `kernel` may run at level `level` (every lower
// level but AVX-VNNI, which only its own level includes).
bool isa_includes(Isa level, Isa kernel);
// The highest level at or below `level` that this CPU runs.
Isa runnable_isa(Isa level);
// The best level this CPU runs.
Isa best_isa();
// QDQ_ISA=ref|avx2|avxvnni|avx512vnni|amx forces a level (for tests of each path); otherwise
// best_isa(). Forcing a level the CPU lacks is an error.
Isa selected_isa();

// The bytes of one core's L2 cache (Zen 3's 512 KB where the system does not
// say).
int64_t l2_cache_bytes();

}  // namespace qdq
