#include "peak_loops.h"

// GCC 12's AVX-512 headers fill unused lanes from _mm512_undefined_*(), which
// its own -Wuninitialized flags at every call (a known false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace qdq::bench {
namespace {

volatile int sink;

// The AVX2 level's int8 step: vpmaddubsw (u8 x s8 pairs -> s16), vpmaddwd
// with ones (-> s32), vpaddd: 32 multiply-adds per three instructions, as
// ONNX Runtime's AVX2 u8s8 kernels run it (their pair sums may saturate).
__attribute__((target("avx2"))) int64_t int8_avx2(int64_t iterations) {
  constexpr int kChains = 4;
  __m256i acc[kChains] = {}, tmp[kChains] = {};
  const __m256i a = _mm256_set1_epi8(3), w = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < iterations; ++i)
    __asm__ volatile(
        "vpmaddubsw %[w], %[a], %[t0]\n\t"
        "vpmaddwd %[ones], %[t0], %[t0]\n\t"
        "vpaddd %[t0], %[c0], %[c0]\n\t"
        "vpmaddubsw %[w], %[a], %[t1]\n\t"
        "vpmaddwd %[ones], %[t1], %[t1]\n\t"
        "vpaddd %[t1], %[c1], %[c1]\n\t"
        "vpmaddubsw %[w], %[a], %[t2]\n\t"
        "vpmaddwd %[ones], %[t2], %[t2]\n\t"
        "vpaddd %[t2], %[c2], %[c2]\n\t"
        "vpmaddubsw %[w], %[a], %[t3]\n\t"
        "vpmaddwd %[ones], %[t3], %[t3]\n\t"
        "vpaddd %[t3], %[c3], %[c3]\n\t"
        : [c0] "+x"(acc[0]), [t0] "+x"(tmp[0]), [c1] "+x"(acc[1]), [t1] "+x"(tmp[1]),
          [c2] "+x"(acc[2]), [t2] "+x"(tmp[2]), [c3] "+x"(acc[3]), [t3] "+x"(tmp[3])
        : [a] "x"(a), [w] "x"(w), [ones] "x"(ones));
  sink = _mm256_extract_epi32(acc[0], 0);
  return iterations * kChains * 32;
}

// qdq's AVX2 tiles over quad pairs (QConvPacked::quad_pairs): two
// vpmaddubsw results added in 16 bits (vpaddw) before one vpmaddwd with
// ones and vpaddd: 64 multiply-adds per three multiplies where int8_avx2
// takes four, and two adds beside them. Where the adds have pipes of their
// own (AMD Zen: four vector pipes, the multiplies on two), 1.33x
// int8_avx2's rate; where they share the multiplies' (Intel's ports 0, 1
// and 5), 1.2x at most.
__attribute__((target("avx2"))) int64_t int8_avx2_quad_pairs(int64_t iterations) {
  constexpr int kChains = 4;
  __m256i acc[kChains] = {}, tmp[kChains] = {}, other[kChains] = {};
  const __m256i a = _mm256_set1_epi8(3), w = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < iterations; ++i)
    __asm__ volatile(
        "vpmaddubsw %[w], %[a], %[t0]\n\t"
        "vpmaddubsw %[w], %[a], %[u0]\n\t"
        "vpaddw %[u0], %[t0], %[t0]\n\t"
        "vpmaddwd %[ones], %[t0], %[t0]\n\t"
        "vpaddd %[t0], %[c0], %[c0]\n\t"
        "vpmaddubsw %[w], %[a], %[t1]\n\t"
        "vpmaddubsw %[w], %[a], %[u1]\n\t"
        "vpaddw %[u1], %[t1], %[t1]\n\t"
        "vpmaddwd %[ones], %[t1], %[t1]\n\t"
        "vpaddd %[t1], %[c1], %[c1]\n\t"
        "vpmaddubsw %[w], %[a], %[t2]\n\t"
        "vpmaddubsw %[w], %[a], %[u2]\n\t"
        "vpaddw %[u2], %[t2], %[t2]\n\t"
        "vpmaddwd %[ones], %[t2], %[t2]\n\t"
        "vpaddd %[t2], %[c2], %[c2]\n\t"
        "vpmaddubsw %[w], %[a], %[t3]\n\t"
        "vpmaddubsw %[w], %[a], %[u3]\n\t"
        "vpaddw %[u3], %[t3], %[t3]\n\t"
        "vpmaddwd %[ones], %[t3], %[t3]\n\t"
        "vpaddd %[t3], %[c3], %[c3]\n\t"
        : [c0] "+x"(acc[0]), [t0] "+x"(tmp[0]), [u0] "+x"(other[0]), [c1] "+x"(acc[1]),
          [t1] "+x"(tmp[1]), [u1] "+x"(other[1]), [c2] "+x"(acc[2]), [t2] "+x"(tmp[2]),
          [u2] "+x"(other[2]), [c3] "+x"(acc[3]), [t3] "+x"(tmp[3]), [u3] "+x"(other[3])
        : [a] "x"(a), [w] "x"(w), [ones] "x"(ones));
  sink = _mm256_extract_epi32(acc[0], 0);
  return iterations * kChains * 64;
}

// What exactness costs at the AVX2 level. qdq's AVX2 GEMM tiles (the sign
// trick of kernels/avx2/qconv_ops.h) run vpabsb once per broadcast activation
// and vpsignb per weight vector before each vpmaddubsw: one row of a tile,
// two weight vectors (64 multiply-adds), twice over. On AMD Zen the vpsignb /
// vpabsb share the two pipes of the multiplies, which bounds this loop well
// below int8_avx2's.
__attribute__((target("avx2"))) int64_t int8_avx2_sign_trick(int64_t iterations) {
  __m256i acc[4] = {}, tmp[4] = {}, magnitude[2] = {};
  const __m256i a = _mm256_set1_epi8(-3), w0 = _mm256_set1_epi8(-2), w1 = _mm256_set1_epi8(5),
                ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < iterations; ++i)
    __asm__ volatile(
        "vpabsb %[a], %[m0]\n\t"
        "vpsignb %[a], %[w0], %[t0]\n\t"
        "vpmaddubsw %[t0], %[m0], %[t0]\n\t"
        "vpmaddwd %[ones], %[t0], %[t0]\n\t"
        "vpaddd %[t0], %[c0], %[c0]\n\t"
        "vpsignb %[a], %[w1], %[t1]\n\t"
        "vpmaddubsw %[t1], %[m0], %[t1]\n\t"
        "vpmaddwd %[ones], %[t1], %[t1]\n\t"
        "vpaddd %[t1], %[c1], %[c1]\n\t"
        "vpabsb %[a], %[m1]\n\t"
        "vpsignb %[a], %[w0], %[t2]\n\t"
        "vpmaddubsw %[t2], %[m1], %[t2]\n\t"
        "vpmaddwd %[ones], %[t2], %[t2]\n\t"
        "vpaddd %[t2], %[c2], %[c2]\n\t"
        "vpsignb %[a], %[w1], %[t3]\n\t"
        "vpmaddubsw %[t3], %[m1], %[t3]\n\t"
        "vpmaddwd %[ones], %[t3], %[t3]\n\t"
        "vpaddd %[t3], %[c3], %[c3]\n\t"
        : [c0] "+x"(acc[0]), [t0] "+x"(tmp[0]), [c1] "+x"(acc[1]), [t1] "+x"(tmp[1]),
          [c2] "+x"(acc[2]), [t2] "+x"(tmp[2]), [c3] "+x"(acc[3]), [t3] "+x"(tmp[3]),
          [m0] "+x"(magnitude[0]), [m1] "+x"(magnitude[1])
        : [a] "x"(a), [w0] "x"(w0), [w1] "x"(w1), [ones] "x"(ones));
  sink = _mm256_extract_epi32(acc[0], 0);
  return iterations * 4 * 32;
}

// The other exact AVX2 scheme: activations and weights widened to 16 bits
// ahead of the loop, vpmaddwd (16 multiply-adds, exact into s32) and vpaddd:
// as many multiplies per multiply-add as int8_avx2's, none beside them.
__attribute__((target("avx2"))) int64_t int8_avx2_s16(int64_t iterations) {
  __m256i acc[6] = {}, tmp[6] = {};
  const __m256i a = _mm256_set1_epi16(-255), w = _mm256_set1_epi16(127);
  for (int64_t i = 0; i < iterations; ++i)
    __asm__ volatile(
        "vpmaddwd %[w], %[a], %[t0]\n\t"
        "vpaddd %[t0], %[c0], %[c0]\n\t"
        "vpmaddwd %[w], %[a], %[t1]\n\t"
        "vpaddd %[t1], %[c1], %[c1]\n\t"
        "vpmaddwd %[w], %[a], %[t2]\n\t"
        "vpaddd %[t2], %[c2], %[c2]\n\t"
        "vpmaddwd %[w], %[a], %[t3]\n\t"
        "vpaddd %[t3], %[c3], %[c3]\n\t"
        "vpmaddwd %[w], %[a], %[t4]\n\t"
        "vpaddd %[t4], %[c4], %[c4]\n\t"
        "vpmaddwd %[w], %[a], %[t5]\n\t"
        "vpaddd %[t5], %[c5], %[c5]\n\t"
        : [c0] "+x"(acc[0]), [t0] "+x"(tmp[0]), [c1] "+x"(acc[1]), [t1] "+x"(tmp[1]),
          [c2] "+x"(acc[2]), [t2] "+x"(tmp[2]), [c3] "+x"(acc[3]), [t3] "+x"(tmp[3]),
          [c4] "+x"(acc[4]), [t4] "+x"(tmp[4]), [c5] "+x"(acc[5]), [t5] "+x"(tmp[5])
        : [a] "x"(a), [w] "x"(w));
  sink = _mm256_extract_epi32(acc[0], 0);
  return iterations * 6 * 16;
}

// Twelve chains of one instruction, acc[i] = INSTR(acc[i], a, w): more in
// flight than a 5-cycle latency on two ports needs (ten measured 13 % short
// of twelve for vpdpbusd).
#define QDQ_TWELVE_CHAINS(INSTR)                                                                   \
  __asm__ volatile(                                                                                \
      INSTR                                                                                        \
      " %[w], %[a], %[c0]\n\t" INSTR " %[w], %[a], %[c1]\n\t" INSTR " %[w], %[a], %[c2]\n\t" INSTR \
      " %[w], %[a], %[c3]\n\t" INSTR " %[w], %[a], %[c4]\n\t" INSTR " %[w], %[a], %[c5]\n\t" INSTR \
      " %[w], %[a], %[c6]\n\t" INSTR " %[w], %[a], %[c7]\n\t" INSTR " %[w], %[a], %[c8]\n\t" INSTR \
      " %[w], %[a], %[c9]\n\t" INSTR " %[w], %[a], %[c10]\n\t" INSTR " %[w], %[a], %[c11]\n\t"     \
      : [c0] "+v"(acc[0]), [c1] "+v"(acc[1]), [c2] "+v"(acc[2]), [c3] "+v"(acc[3]),                \
        [c4] "+v"(acc[4]), [c5] "+v"(acc[5]), [c6] "+v"(acc[6]), [c7] "+v"(acc[7]),                \
        [c8] "+v"(acc[8]), [c9] "+v"(acc[9]), [c10] "+v"(acc[10]), [c11] "+v"(acc[11])             \
      : [a] "v"(a), [w] "v"(w))

// AVX-512 VNNI: vpdpbusd, 64 u8 x s8 multiply-adds into s32 per instruction.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int64_t int8_avx512vnni(int64_t iterations) {
  __m512i acc[12] = {};
  const __m512i a = _mm512_set1_epi8(3), w = _mm512_set1_epi8(-2);
  for (int64_t i = 0; i < iterations; ++i) QDQ_TWELVE_CHAINS("vpdpbusd");
  sink = _mm512_reduce_add_epi32(acc[0]);
  return iterations * 12 * 64;
}

// FP32 FMA on 8 lanes.
__attribute__((target("avx2,fma"))) int64_t fp32_avx2(int64_t iterations) {
  __m256 acc[12] = {};
  const __m256 a = _mm256_set1_ps(1.0f), w = _mm256_set1_ps(1e-9f);
  for (int64_t i = 0; i < iterations; ++i) QDQ_TWELVE_CHAINS("vfmadd231ps");
  sink = static_cast<int>(_mm256_cvtss_f32(acc[0]));
  return iterations * 12 * 8;
}

// FP32 FMA on 16 lanes.
__attribute__((target("avx512f"))) int64_t fp32_avx512(int64_t iterations) {
  __m512 acc[12] = {};
  const __m512 a = _mm512_set1_ps(1.0f), w = _mm512_set1_ps(1e-9f);
  for (int64_t i = 0; i < iterations; ++i) QDQ_TWELVE_CHAINS("vfmadd231ps");
  sink = static_cast<int>(_mm512_reduce_add_ps(acc[0]));
  return iterations * 12 * 16;
}

#undef QDQ_TWELVE_CHAINS

// AMX-INT8: tdpbusd, 16 x 16 sums of 64 u8 x s8 products each (16,384
// multiply-adds) per instruction, four independent sum tiles from two tiles
// of activations and two of weights (qdq's tile). ldtilecfg zeroes them.
__attribute__((target("amx-tile,amx-int8"))) int64_t int8_amx(int64_t iterations) {
  struct alignas(64) {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
    uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
  } config;
  asm volatile("ldtilecfg %0" ::"m"(config));  // not _tile_loadconfig: see amx/qconv.cc
  for (int64_t i = 0; i < iterations; ++i) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  _tile_release();
  return iterations * 4 * 16 * 16 * 64;
}

}  // namespace

const std::vector<PeakLoop>& peak_loops() {
  static const std::vector<PeakLoop> loops = {
      {"int8/avx2_vpmaddubsw_ymm", Isa::kAvx2, true, int8_avx2},
      {"int8/avx2_quad_pairs_ymm", Isa::kAvx2, true, int8_avx2_quad_pairs},
      {"int8/avx2_sign_trick_ymm", Isa::kAvx2, true, int8_avx2_sign_trick},
      {"int8/avx2_s16_vpmaddwd_ymm", Isa::kAvx2, true, int8_avx2_s16},
      {"int8/avx512vnni_vpdpbusd_zmm", Isa::kAvx512Vnni, true, int8_avx512vnni},
      {"int8/amx_tdpbusd", Isa::kAmxInt8, true, int8_amx},
      {"fp32/avx2_vfmadd_ymm", Isa::kAvx2, false, fp32_avx2},
      {"fp32/avx512_vfmadd_zmm", Isa::kAvx512Vnni, false, fp32_avx512},
  };
  return loops;
}

}  // namespace qdq::bench
