// Which instruction sets this CPU offers, and which one qdq's kernels use.
#pragma once

#include <string>

namespace qdq {

// Kernel levels, lowest first. kRef is the portable reference code.
enum class Isa { kRef, kAvx2 };

const char* isa_name(Isa isa);
// The best level this CPU runs.
Isa best_isa();
// QDQ_ISA=ref|avx2 forces a level (for tests of each path); otherwise best_isa().
// Forcing a level the CPU lacks is an error.
Isa selected_isa();

}  // namespace qdq
