// Fuzz target: plan files. The checksum would refuse almost every mutation
// before the parser sees it, so the target makes it match (a crafted file):
// the preamble checks, the header, the embedded graph, the blob ranges and the
// executor's creation are what gets explored.
#include <xxhash.h>

#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "runtime/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.size() >= 64) {
    const uint64_t sum = XXH3_64bits(bytes.data() + 64, bytes.size() - 64);
    std::memcpy(bytes.data() + 32, &sum, sizeof sum);
  }
  const auto path =
      qdq::fuzz::scratch_file("plan", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  (void)qdq::load_plan(path, qdq::Isa::kRef);
  return 0;
}
