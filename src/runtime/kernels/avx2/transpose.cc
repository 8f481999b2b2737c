// Transpose on AVX2: an 8-bit batch of 3-channel images into channels-last
// (perm 0, 2, 3, 1), the layout change the engine's passes put where a
// quantized network takes its input, by byte shuffles, 16 pixels at a time.
// The reference walks it element by element: ResNet-20's input at batch 32
// took 61-75 µs of a 4.1-4.5 ms run. Any other transpose is the reference's.
//
// ISA code is compiled through target attributes, not per-file flags, so that
// inline functions from shared headers are never emitted with AVX2
// instructions and picked by the linker for other CPUs.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "runtime/kernels/registry.h"
#include "runtime/reference/registry.h"
#include "support/parallel.h"

#define QDQ_AVX2_TARGET __attribute__((target("avx2")))

namespace qdq {
namespace {

constexpr int64_t kChannels = 3;

// The pshufb masks that put plane k's bytes where 16 output bytes from byte
// `first` on want them (3 i + k holds plane k's pixel i), the rest zero:
// masks[part][k] for the three 16-byte parts of 16 interleaved pixels.
constexpr auto kMasks = [] {
  std::array<std::array<std::array<int8_t, 16>, kChannels>, kChannels> masks{};
  for (int part = 0; part < kChannels; ++part)
    for (int k = 0; k < kChannels; ++k)
      for (int j = 0; j < 16; ++j) {
        const int byte = 16 * part + j;
        masks[part][k][j] = static_cast<int8_t>(byte % kChannels == k ? byte / kChannels : -128);
      }
  return masks;
}();

// One image: its three planes of `pixels` bytes into `pixels` 3-byte pixels.
QDQ_AVX2_TARGET void interleave_planes(const uint8_t* planes, int64_t pixels, uint8_t* out) {
  const uint8_t* plane[kChannels] = {planes, planes + pixels, planes + 2 * pixels};
  __m128i mask[kChannels][kChannels];
  for (int part = 0; part < kChannels; ++part)
    for (int k = 0; k < kChannels; ++k)
      mask[part][k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kMasks[part][k].data()));
  int64_t i = 0;
  for (; i + 16 <= pixels; i += 16, out += 16 * kChannels) {
    __m128i x[kChannels];
    for (int k = 0; k < kChannels; ++k)
      x[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(plane[k] + i));
    for (int part = 0; part < kChannels; ++part) {
      const __m128i bytes = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(x[0], mask[part][0]),
                                                      _mm_shuffle_epi8(x[1], mask[part][1])),
                                         _mm_shuffle_epi8(x[2], mask[part][2]));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * part), bytes);
    }
  }
  for (; i < pixels; ++i, out += kChannels)
    for (int k = 0; k < kChannels; ++k) out[k] = plane[k][i];
}

}  // namespace

void transpose_avx2(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::span<const int64_t> perm = ctx.attrs().ints("perm");
  const std::array<int64_t, 4> channels_last = {0, 2, 3, 1};
  if (dtype_size(x.dtype()) != 1 || x.rank() != 4 || x.dim(1) != kChannels ||
      !std::ranges::equal(perm, channels_last)) {
    static const ReferenceKernel reference = find_reference_kernel(kernel_key("", "Transpose"));
    ctx.ran_at(Isa::kRef);
    return reference(ctx);
  }
  const int64_t images = x.dim(0), pixels = x.dim(2) * x.dim(3);
  Tensor& y = ctx.allocate_output(0, x.dtype(), {images, x.dim(2), x.dim(3), kChannels});
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  parallel_for(images, images * pixels * kChannels > (1 << 16), [&](int64_t n) {
    interleave_planes(src + n * kChannels * pixels, pixels, dst + n * kChannels * pixels);
  });
}

}  // namespace qdq
