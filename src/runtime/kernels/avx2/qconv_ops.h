// ai.qdq.QConv with AVX2, exact.
//
// vpmaddubsw (uint8 x int8, pairs summed into a saturating int16) is the
// fast int8 instruction here, and the reason ONNX Runtime's AVX2 models lose
// accuracy: 255*127 + 255*127 overflows int16. The GEMM tiles multiply
// 16-bit words instead: each tile's rows are widened once (widen_rows, the
// flip applied, sign-extended: the activations are int8, qconv_pack flips
// uint8 ones by 128), and vpmaddwd adds a K pair's two products exactly into
// an int32 lane, any weight included. That is as many multiply-pipe
// operations per multiply-add as vpmaddubsw's own path (vpmaddubsw, then
// vpmaddwd by ones to widen), where the sign trick this kernel ran before
// (|a| as the unsigned operand, sign(a) * w as the signed one) added a
// vpsignb and half a vpabsb, which on AMD Zen share the multiplies' two
// pipes: its ceiling was 58 % of vpmaddubsw's, the 16-bit loop's is 81 %
// (bench/peak, BENCHMARKS.md session 22).
//
// Most tiles take vpmaddubsw after all, exactly: a trained layer's
// activations lie near its zero point (outside the stem, 0-0.3 % of
// ResNets' and 0.2-1.1 % of MobileNetV2's conv inputs fall outside a
// window of 128 values on real images), so each row is split into 7-bit
// bytes, whose products with any int8 weights cannot saturate a pair, and
// a few remainders added to the sums afterwards (Avx2Ops::split_rows); a
// tile with too many is widened as above. ResNet-50's 1x1 layers ran
// 0.81-0.93x the 16-bit time at batch 1 (BENCHMARKS.md, session 27).
//
// Depthwise layers widen to 16-bit words too and use vpmaddwd over pairs of
// taps. The epilogue is the reference's float steps lane for lane (see
// avx512vnni/qconv_ops.h), or a float sum's affine form where it has one
// (qconv_pack.h), rounded first and narrowed by saturating packs where the
// bounds allow (NarrowRows), and fused with the GEMM tile where the tile is
// whole (Avx2Ops::fused_blocks); channels past a block's first 8 of fewer
// than 16 take the scalar qconv_epilogue itself.
//
// The operations (qconv_driver.h's `Ops`) live in this header so that the
// AVX-VNNI kernel (avxvnni/qconv.cc) takes the epilogue and the depthwise
// kernel from here; every function carries its target attribute itself.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstring>

#include "runtime/kernels/avx2/narrow.h"
#include "runtime/kernels/qconv_driver.h"

// FMA too: the AVX2 level asks for it (cpu_features.cc), the affine form uses it.
#define QDQ_AVX2_TARGET __attribute__((target("avx2,fma")))

namespace qdq {
namespace avx2 {

// One tile row's sums of 16 channels.
struct RowSums {
  __m256i low, high;  // channels 0-7, 8-15
};

// The K pair of 16-bit words at `at`, broadcast, times the pair's weights of
// the 16 channels (the first 8 only where Low), added to one row's sums.
template <bool Low = false>
inline QDQ_AVX2_TARGET void accumulate_pair(RowSums& sums, const uint8_t* at, __m256i w_low,
                                            __m256i w_high) {
  const __m256i pair = _mm256_set1_epi32(tile_quad(at));
  sums.low = _mm256_add_epi32(sums.low, _mm256_madd_epi16(pair, w_low));
  if constexpr (!Low) sums.high = _mm256_add_epi32(sums.high, _mm256_madd_epi16(pair, w_high));
}

inline QDQ_AVX2_TARGET void store_row(int32_t* acc, const RowSums& sums) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc), sums.low);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + 8), sums.high);
}

// The rows of a tile_words tile.
constexpr int kWordTileRows = 6;

// The six rows' sums of a tile_words tile. Named, not an array: GCC 12
// kept a 6 x 2 array of them on the stack (57 GMAC/s a core against 94
// named).
struct WordTileSums {
  RowSums s0, s1, s2, s3, s4, s5;
};

// f(row r's sums, r) for a tile's first `Rows` rows, r a constant.
template <int Rows, typename F>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void each_row(WordTileSums& t, F&& f) {
  static_assert(Rows > 0 && Rows <= kWordTileRows);
  f(t.s0, 0);
  if constexpr (Rows > 1) f(t.s1, 1);
  if constexpr (Rows > 2) f(t.s2, 2);
  if constexpr (Rows > 3) f(t.s3, 3);
  if constexpr (Rows > 4) f(t.s4, 4);
  if constexpr (Rows > 5) f(t.s5, 5);
}

// A tile's first `Rows` rows' sums stored [row][16].
template <int Rows>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void store_rows(int32_t* acc,
                                                                      WordTileSums& t) {
  each_row<Rows>(
      t, [&](const RowSums& sums, int r) QDQ_AVX2_TARGET
      __attribute__((always_inline)) { store_row(acc + r * kQConvBlock, sums); });
}

// Asks for the weight line kWeightPrefetchBytes past `w` into L2 while the
// tile multiplies `w`'s. A tile streams its block's weights once per tile,
// and at batch 1 a large layer's weights come from memory: ResNet-18's
// 512-channel 4x4 layers (4.7 MB of 16-bit pair weights each) ran at half
// the rate of the same tiles over warm weights, the hardware's prefetch not
// keeping up (one weight line a K step). 32 KB ahead is a fifth of a
// 512-channel 3x3 block's weights (measured 4, 8, 16, 32 and 64 KB: 16-64
// alike, 4 slower). The 8-bit tiles (int8 weights: quad pairs, both of a
// pair's lines, and quads) ask for theirs too: ResNet-18 at batch 1, two
// threads, its stride-2 256 -> 512 layer and its 512-channel 4x4 layers
// direct 0.76-0.93x the time (a fifth of the tile function's samples had
// been on its first weight load); where the weights are warm (MobileNetV2's
// 1x1 layers at batch 32) no change beyond this machine's noise. The
// AVX-512 VNNI tiles (int8 weights, four blocks a panel) gained nothing
// from it. The address is computed as an integer: past
// the last block it names memory the tile never reads, which a prefetch may
// (it never faults).
constexpr uintptr_t kWeightPrefetchBytes = 32 * 1024;
// Always inlined: GCC takes a function holding only a prefetch for one
// without effects, and drops the calls to it.
inline __attribute__((always_inline)) void prefetch_weights(const void* w) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(w) + kWeightPrefetchBytes),
               _MM_HINT_T1);
}

// `Rows` (up to six) widened rows (Avx2Ops::widen_rows: one segment of K
// pairs) by one block of pair weights, added to `t`: twelve sums, two weight
// vectors and a broadcast in the 16 ymm registers. Six rows, not four where
// four divide an output row: a tile streams its block's weights (twice the
// bytes of int8 ones) from L2, once per six rows (ResNet-18, batch 8, one
// thread: 6-row tiles with a 32-pixel row's last two gathered 0.78-1.02x
// the time of 4-row tiles). Fewer for a layer's last tile where its pixels
// end (Avx2Ops::fused_blocks). Low: a block's first 8 channels only (a
// layer's last block of 8 or fewer: MobileNetV2's 24-channel projections
// computed a third of their sums for nothing).
template <int Rows, bool Low = false>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void accumulate_words(const TileRows& a,
                                                                            const int16_t* w,
                                                                            WordTileSums& t) {
  const int64_t stride = a.stride;
  const uint8_t* const end = a.segment[0] + 4 * a.quads;
  for (const uint8_t* at = a.segment[0]; at < end; at += 4, w += 2 * kQConvBlock) {
    prefetch_weights(w);
    const __m256i w_low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i w_high =
        Low ? w_low : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16));
    each_row<Rows>(
        t, [&](RowSums & sums, int r) QDQ_AVX2_TARGET __attribute__((always_inline)) {
          accumulate_pair<Low>(sums, at + r * stride, w_low, w_high);
        });
  }
}

// The sums of a tile_words tile's first `Rows` rows, stored [row][16]
// (channels 8-15 zero where Low).
template <bool Low = false, int Rows = kWordTileRows>
inline QDQ_AVX2_TARGET void tile_words(const TileRows& a, const int16_t* w, int32_t* acc) {
  const __m256i zero = _mm256_setzero_si256();
  const RowSums none{zero, zero};
  WordTileSums t{none, none, none, none, none, none};
  accumulate_words<Rows, Low>(a, w, t);
  store_rows<Rows>(acc, t);
}

// tile_words for 1 to kWordTileRows rows, by rows less one (as
// Avx2Ops::fused_by_rows): a Winograd group's last GEMM tile.
template <int... Less>
constexpr auto tile_words_by_rows(std::integer_sequence<int, Less...>) {
  return std::array{&tile_words<false, Less + 1>...};
}

// The 8-bit form of the same tiles (QConvPacked::split_rows): a row's 4
// bytes lo (each at most 127) by a quad of int8 weights with vpmaddubsw,
// whose pair sums, within 127 * 128 * 2, never saturate, then summed to
// int32 by vpmaddwd with ones: ONNX Runtime's u8s8 instructions, on half
// the bytes of the 16-bit words. Weights: `weights`, [16][4] a quad.
template <bool Low>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void accumulate_quad(
    RowSums& sums, const uint8_t* at, __m256i w_low, __m256i w_high, __m256i ones) {
  const __m256i quad = _mm256_set1_epi32(tile_quad(at));
  sums.low = _mm256_add_epi32(sums.low, _mm256_madd_epi16(_mm256_maddubs_epi16(quad, w_low), ones));
  if constexpr (!Low)
    sums.high =
        _mm256_add_epi32(sums.high, _mm256_madd_epi16(_mm256_maddubs_epi16(quad, w_high), ones));
}

// The tile's first `Rows` rows by block `block`'s quad pairs
// (QConvPacked::quad_pairs): each row's two quads broadcast, their two
// vpmaddubsw results added in 16 bits (exactly: the pairs' bound) before
// vpmaddwd sums them to int32, 6 multiplies for 128 products where two
// quads alone take 8. All six rows in one pass, though their 12 sums and
// the pair's 4 weight vectors overfill the 16 ymm registers (GCC 12 keeps
// five of the sums on the stack, a load and a store each a pair): passes of
// four rows and two read a block's weights twice, from L2 or beyond once
// they outgrow L1 (a block of K = 4608 streamed from L3: 80 GMAC/s a core
// against 97 in one pass). In the models, one thread: ResNet-50's convs
// 0.95-0.96x the time of the two passes at batches 1 and 8, MobileNetV2's
// 0.97-0.99x at 1 and 32, the CIFAR-size ResNets' 0.99-1.01x.
template <int Rows, bool Low>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void accumulate_pair_rows(
    const TileRows& a, const int32_t* order, const int32_t* end, const int8_t* w, WordTileSums& t) {
  const int64_t stride = a.stride;
  const uint8_t* const row = a.segment[0];
  const __m256i ones = _mm256_set1_epi16(1);
  for (; order < end; order += 2, w += 8 * kQConvBlock) {
    prefetch_weights(w);
    prefetch_weights(w + 64);
    const auto* const v = reinterpret_cast<const __m256i*>(w);
    const __m256i first_low = _mm256_loadu_si256(v), second_low = _mm256_loadu_si256(v + 2);
    const __m256i first_high = Low ? first_low : _mm256_loadu_si256(v + 1);
    const __m256i second_high = Low ? second_low : _mm256_loadu_si256(v + 3);
    const uint8_t *first = row + order[0], *second = row + order[1];
    const auto product = [&](__m256i x, __m256i y, __m256i wx, __m256i wy) QDQ_AVX2_TARGET
        __attribute__((always_inline)) {
      return _mm256_madd_epi16(
          _mm256_add_epi16(_mm256_maddubs_epi16(x, wx), _mm256_maddubs_epi16(y, wy)), ones);
    };
    each_row<Rows>(
        t, [&](RowSums & sums, int r) QDQ_AVX2_TARGET __attribute__((always_inline)) {
          const __m256i x = _mm256_set1_epi32(tile_quad(first + r * stride));
          const __m256i y = _mm256_set1_epi32(tile_quad(second + r * stride));
          sums.low = _mm256_add_epi32(sums.low, product(x, y, first_low, second_low));
          if constexpr (!Low)
            sums.high = _mm256_add_epi32(sums.high, product(x, y, first_high, second_high));
        });
  }
}

// `count` quads of the split rows by their int8 weights from `w` on, quad i
// at byte offset(i) of a row.
template <int Rows, bool Low, typename Offset>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void accumulate_quads(
    const TileRows& a, const int8_t* w, int64_t count, Offset offset, WordTileSums& t) {
  const int64_t stride = a.stride;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < count; ++i, w += 4 * kQConvBlock) {
    prefetch_weights(w);
    const __m256i w_low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i w_high =
        Low ? w_low : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32));
    const uint8_t* const at = a.segment[0] + offset(i);
    each_row<Rows>(
        t, [&](RowSums & sums, int r) QDQ_AVX2_TARGET __attribute__((always_inline)) {
          accumulate_quad<Low>(sums, at + r * stride, w_low, w_high, ones);
        });
  }
}

// The split rows' remainders e (TileRows::corrections) times their weights,
// added to the rows' sums. An entry: its K quad's index q, |e| in the byte
// of the quad its K takes (0 in the others: vpmaddubsw's one product, at
// most 128 * 128), and e's sign in both words, by which vpmaddwd sums the
// products to int32. The quad's weights: w + offset(q), from the int8
// weights the tile has just read, cache-warm (the pair weights were a miss
// an entry, 8 % of MobileNetV2's projections).
constexpr int kCorrectionInts = 3;
// The remainders' layout after a split tile's bytes: kWordTileRows + 1 row
// begins, then the entries.
template <typename Int>
inline Int* correction_entries(Int* begin) {
  return begin + kWordTileRows + 1;
}
template <int Rows, bool Low, typename Offset>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void add_corrections(const TileRows& a,
                                                                           const int8_t* w,
                                                                           Offset offset,
                                                                           WordTileSums& t) {
  const int32_t* const begin = a.corrections;
  const int32_t* const entries = correction_entries(begin);
  const auto row = [&](RowSums & sums, int r) QDQ_AVX2_TARGET __attribute__((always_inline)) {
    for (const int32_t* e = entries + kCorrectionInts * begin[r];
         e < entries + kCorrectionInts * begin[r + 1]; e += kCorrectionInts) {
      const __m256i value = _mm256_set1_epi32(e[1]), sign = _mm256_set1_epi32(e[2]);
      const int8_t* quad = w + offset(e[0]);
      sums.low = _mm256_add_epi32(
          sums.low,
          _mm256_madd_epi16(_mm256_maddubs_epi16(
                                value, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quad))),
                            sign));
      if constexpr (!Low)
        sums.high = _mm256_add_epi32(
            sums.high,
            _mm256_madd_epi16(
                _mm256_maddubs_epi16(
                    value, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quad + 32))),
                sign));
    }
  };
  each_row<Rows>(t, row);
}

// The split rows' products with block `block`'s weights, their remainders'
// included: K in order, or the block's quad pairs and then its quads left
// alone (QConvPacked::quad_order), from ordered_weights alone.
template <int Rows, bool Low = false>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void accumulate_split(const QConvPacked& p,
                                                                            const TileRows& a,
                                                                            int64_t block,
                                                                            WordTileSums& t) {
  constexpr int64_t kQuadBytes = 4 * kQConvBlock;
  const int64_t quads = p.k_padded / 4;
  if (p.quad_pairs.empty()) {
    const int8_t* const w = qconv_block_weights(p, block);
    accumulate_quads<Rows, Low>(
        a, w, quads, [](int64_t i) { return 4 * i; }, t);
    return add_corrections<Rows, Low>(
        a, w, [](int32_t q) { return kQuadBytes * q; }, t);
  }
  const int32_t* const order = p.quad_order.data() + block * quads;
  const int32_t* const places = p.quad_places.data() + block * quads;
  const int64_t pairs = p.quad_pairs[static_cast<size_t>(block)];
  const int8_t* const w = p.ordered_weights.data() + block * quads * kQuadBytes;
  accumulate_pair_rows<Rows, Low>(a, order, order + 2 * pairs, w, t);
  const int32_t* const alone = order + 2 * pairs;
  accumulate_quads<Rows, Low>(
      a, w + 2 * pairs * kQuadBytes, quads - 2 * pairs, [&](int64_t i) { return alone[i]; }, t);
  add_corrections<Rows, Low>(
      a, w, [&](int32_t q) { return kQuadBytes * places[q]; }, t);
}

// A block's sums of the tile's rows, whole or split: `start` plus the
// products, with the block's center sums where split.
template <int Rows, bool Low = false>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void accumulate_rows(
    const QConvPacked& p, const TileRows& a, int64_t block, RowSums start, WordTileSums& t) {
  const int64_t offset = block * p.k_padded * kQConvBlock;  // of the block, in both layouts
  if (!a.corrections) {
    t = WordTileSums{start, start, start, start, start, start};
    accumulate_words<Rows, Low>(a, p.pair_weights.data() + offset, t);
    return;
  }
  const int32_t* const center = p.center_sums.data() + block * kQConvBlock;
  start.low =
      _mm256_add_epi32(start.low, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(center)));
  start.high = _mm256_add_epi32(start.high,
                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(center + 8)));
  t = WordTileSums{start, start, start, start, start, start};
  accumulate_split<Rows, Low>(p, a, block, t);
}

// What the eight-lane steps below read, taken out of the packed state and
// its params once a tile: the 8-bit stores may alias anything, so whatever
// they read through `p` was loaded again after every store, and the
// broadcast bounds made again (MobileNetV2 u8s8 at this level, batch 8, one
// thread: the epilogue was 27 % of the run).
struct Lanes8 {
  const int32_t* bias;
  const float* multipliers;
  const float* bias_float;
  const int32_t* exceptions;  // QConvPacked::affine_exceptions
  int64_t padded;             // blocks * 16: from a slot's sums to its steps
  int slots;                  // exception slots in use
  bool finite, affine, float_sum, bounded, relu, residual;
  __m256 act_lo, act_hi, y_scale;
  __m256 conv_lo, conv_hi;       // the conv's output bounds less its zero point
  __m256i zero;                  // y_zero
  __m256i narrow_lo, narrow_hi;  // the affine form's bounds less the zero point
  // An 8-bit residual's zero point and scale, and QLinearAdd's steps.
  __m256i residual_zero, sum_zero;
  __m256 residual_scale, conv_scale, sum_scale, sum_lo, sum_hi;

  QDQ_AVX2_TARGET explicit Lanes8(const QConvPacked& p) {
    const QConvParams& q = p.params;
    const QConvParams::Residual r = q.residual.value_or(QConvParams::Residual{});
    bias = p.bias.data();
    multipliers = p.multipliers.data();
    bias_float = p.bias_float.data();
    exceptions = p.affine_exceptions.data();
    padded = p.blocks * kQConvBlock;
    slots = p.affine_corrected() ? kAffineExceptions : 0;
    finite = p.finite_multipliers;
    affine = p.affine_sum;
    float_sum = q.float_sum;
    bounded = q.activation.bounded();
    relu = q.activation.relu;
    residual = q.residual.has_value();
    act_lo = _mm256_set1_ps(q.activation.lo);
    act_hi = _mm256_set1_ps(q.activation.hi);
    y_scale = _mm256_set1_ps(q.y_scale);
    conv_lo = _mm256_set1_ps(static_cast<float>(q.conv_min - q.y_zero));
    conv_hi = _mm256_set1_ps(static_cast<float>(q.conv_max - q.y_zero));
    zero = _mm256_set1_epi32(q.y_zero);
    narrow_lo = _mm256_set1_epi32(p.narrow_min - q.y_zero);
    narrow_hi = _mm256_set1_epi32(p.narrow_max - q.y_zero);
    residual_zero = _mm256_set1_epi32(r.zero);
    sum_zero = _mm256_set1_epi32(r.sum_zero);
    residual_scale = _mm256_set1_ps(r.scale);
    conv_scale = _mm256_set1_ps(r.conv_scale);
    sum_scale = _mm256_set1_ps(r.sum_scale);
    sum_lo = _mm256_set1_ps(static_cast<float>(r.out_min - r.sum_zero));
    sum_hi = _mm256_set1_ps(static_cast<float>(r.out_max - r.sum_zero));
  }
};

// Eight int32 values from `at`.
inline QDQ_AVX2_TARGET __m256i load8(const int32_t* at) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
}

// Eight residual values in float: a float residual's own, an 8-bit one's
// dequantized (the reference's dequantize_value, lane for lane).
template <typename R>
QDQ_AVX2_TARGET __m256 residual8(const Lanes8& l, const R* r) {
  if constexpr (std::is_same_v<R, float>) {
    return _mm256_loadu_ps(r);
  } else {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r));
    const __m256i v =
        std::is_same_v<R, int8_t> ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, l.residual_zero)),
                         l.residual_scale);
  }
}

// ConvActivation's float steps on eight values (see float_value8).
QDQ_AVX2_TARGET __attribute__((always_inline)) inline __m256 activated8(__m256 v, bool relu,
                                                                        __m256 lo, __m256 hi) {
  v = relu ? _mm256_max_ps(v, lo) : _mm256_max_ps(lo, v);
  return _mm256_min_ps(hi, v);
}

// QuantizeLinear's steps on eight values up to the zero point (see
// quantize8): over y_scale, NaN to 0, clamped to [lo, hi], rounded.
QDQ_AVX2_TARGET __attribute__((always_inline)) inline __m256i rounded_quotient8(__m256 v,
                                                                                __m256 y_scale,
                                                                                __m256 lo,
                                                                                __m256 hi) {
  v = _mm256_div_ps(v, y_scale);
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
  return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
}

// Eight lanes of qconv_float_value from channel `channel` on, its float steps
// lane for lane. vmaxps(a, b) is `a > b ? a : b` and vminps(a, b) `a < b ? a :
// b`, NaN and signed zeros included, so ConvActivation's ternaries are Relu's
// max(v, lo), Clip's max(lo, v), and min(hi, v).
template <typename R>
QDQ_AVX2_TARGET __m256 float_value8(const Lanes8& l, int64_t channel, const int32_t* acc8,
                                    const R* r) {
  const __m256i sum = _mm256_add_epi32(load8(acc8), load8(l.bias + channel));
  __m256 v = _mm256_add_ps(
      _mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(l.multipliers + channel)),
      _mm256_loadu_ps(l.bias_float + channel));
  if (r) v = _mm256_add_ps(v, residual8(l, r));
  return l.bounded ? activated8(v, l.relu, l.act_lo, l.act_hi) : v;
}

// QuantizeLinear of eight lanes by the float sum's y_scale. A NaN becomes 0
// before the clamp, as in round_and_saturate. Clamping at the integer bounds
// less the zero point, then converting (round to nearest even) and adding the
// zero point as an integer, equals the reference's round-add-clamp: rounding
// is monotone and the bounds are integers.
inline QDQ_AVX2_TARGET __m256i quantize8(const Lanes8& l, __m256 v) {
  return _mm256_add_epi32(rounded_quotient8(v, l.y_scale, l.conv_lo, l.conv_hi), l.zero);
}

// Eight lanes of a float sum in the affine form (QConvPacked::affine_sum)
// from channel `channel` on, clamped as quantize8 (to the narrow bounds: the
// activation's included).
inline QDQ_AVX2_TARGET __m256i affine8(const Lanes8& l, int64_t channel, const int32_t* acc8) {
  const __m256i sum = _mm256_add_epi32(load8(acc8), load8(l.bias + channel));
  __m256i t = _mm256_cvtps_epi32(_mm256_fmadd_ps(_mm256_cvtepi32_ps(sum),
                                                 _mm256_loadu_ps(l.multipliers + channel),
                                                 _mm256_loadu_ps(l.bias_float + channel)));
  for (int e = 0; e < l.slots; ++e) {
    const int32_t* at = l.exceptions + 2 * e * l.padded + channel;
    t = _mm256_add_epi32(
        t, _mm256_and_si256(_mm256_cmpeq_epi32(sum, load8(at)), load8(at + l.padded)));
  }
  t = _mm256_min_epi32(_mm256_max_epi32(t, l.narrow_lo), l.narrow_hi);
  return _mm256_add_epi32(t, l.zero);
}

// Eight lanes of the integer qconv_epilogue from channel `channel` on (finite
// multipliers), from their sums with the bias added; `r` holds the
// residual's eight values dequantized (residual8). Clamps as quantize8.
inline QDQ_AVX2_TARGET __m256i requantize8(const Lanes8& l, int64_t channel, __m256i sum,
                                           __m256 r) {
  const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(l.multipliers + channel));
  // t - y_zero: the conv's requantized, clamped output less its zero point.
  const __m256i t = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, l.conv_lo), l.conv_hi));
  if (!l.residual) return _mm256_add_epi32(t, l.zero);
  // QLinearAdd: (float(t - t_zero) * t_scale + float(r - r_zero) * r_scale) / sum_scale
  const __m256 s = _mm256_div_ps(
      _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(t), l.conv_scale), r), l.sum_scale);
  return _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(s, l.sum_lo), l.sum_hi)),
                          l.sum_zero);
}

// The same from the accumulators, bias not added yet.
inline QDQ_AVX2_TARGET __m256i epilogue8(const Lanes8& l, int64_t channel, const int32_t* acc8,
                                         __m256 r) {
  return requantize8(l, channel, _mm256_add_epi32(load8(acc8), load8(l.bias + channel)), r);
}

// Sixteen lanes of the integer epilogue from channel `channel` on, from a
// row's sums with the bias added (`residual`: the row's 16 values, or null),
// stored as Q. Always inlined, the sums by value (see NarrowRows::store).
template <typename Q>
inline QDQ_AVX2_TARGET __attribute__((always_inline)) void store_requantized16(
    const Lanes8& l, int64_t channel, RowSums sums, const Q* residual, Q* out) {
  const __m256 none = _mm256_setzero_ps();
  store_narrowed16(
      out, requantize8(l, channel, sums.low, residual ? residual8(l, residual) : none),
      requantize8(l, channel + 8, sums.high, residual ? residual8(l, residual + 8) : none));
}

// Two rows' words (NarrowRows::words) to out0 and out1 (the second not
// where out1 is null): packed to bytes with saturation, clamped to [lo, hi].
// Low: a block's first 8 channels, whose words hold each 4 twice.
template <typename Q, bool Low = false>
QDQ_AVX2_TARGET __attribute__((always_inline)) inline void store_word_rows(__m256i w0, __m256i w1,
                                                                           __m256i lo, __m256i hi,
                                                                           Q* out0, Q* out1) {
  __m256i bytes =
      std::is_same_v<Q, uint8_t> ? _mm256_packus_epi16(w0, w1) : _mm256_packs_epi16(w0, w1);
  // The pack's dwords: r0's channels 0-3, 8-11, r1's 0-3, 8-11, then the
  // same of 4-7 and 12-15.
  bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  bytes = std::is_same_v<Q, uint8_t> ? _mm256_min_epu8(_mm256_max_epu8(bytes, lo), hi)
                                     : _mm256_min_epi8(_mm256_max_epi8(bytes, lo), hi);
  if constexpr (Low) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out0), _mm256_castsi256_si128(bytes));
    if (out1)
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out1), _mm256_extracti128_si256(bytes, 1));
  } else {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out0), _mm256_castsi256_si128(bytes));
    if (out1)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out1), _mm256_extracti128_si256(bytes, 1));
  }
}

// What NarrowRows rounds (a template parameter: tested per row, the forms
// cost MobileNetV2 u8s8's convs 1.5-5 % at batch 8).
enum class NarrowForm { kAffine, kAffineSlots, kFloatSteps };

// Whole blocks' rows (16 channels) of an epilogue without a residual where
// every value it rounds is below 2^30 in magnitude
// (QConvPacked::saturating_narrow): rounded, then narrowed by the
// saturating packs with the zero point added in 16 bits, and the bytes
// clamped to [narrow_min, narrow_max]. sat8(sat16(sat16(t) + zero)) =
// sat8(t + zero), as each saturation's range holds the next one's and the
// zero point lies in Q's range; clamped to bounds within Q's range, that is
// the reference's clamp(t + zero, min, max), the activation's included (a
// float sum's activation is monotone, so QuantizeLinear of its bounds
// clamps the same: qconv_narrow_bounds). The value rounded: the integer
// epilogue's and a float sum's affine form's fma(float(S), multiplier, float
// bias), its exception slots' steps added; a float sum's float steps,
// (float(S) * multiplier + B) / y_scale, rounded twice as the reference
// rounds them. Two rows a pack. Against the eight-lane steps (two float
// clamps and an add per eight values, one row a pack), MobileNetV2 u8s8's
// convs at this level (batch 8, one thread, bench/ab_cores.sh) took
// 0.887-0.936 the time.
template <typename Q, NarrowForm Form>
struct NarrowRows {
  const float* multipliers;  // the block's (the integer epilogue's float biases are 0)
  const float* bias_float;
  const int32_t* exceptions;  // kAffineSlots: the block's slot sums, their steps `padded` on
  int64_t padded;
  __m256 y_scale;
  __m256i zero, lo, hi;  // y_zero in 16-bit words; the bounds in bytes

  QDQ_AVX2_TARGET NarrowRows(const QConvPacked& p, int64_t channel)
      : multipliers(p.multipliers.data() + channel),
        bias_float(p.bias_float.data() + channel),
        exceptions(p.affine_corrected() ? p.affine_exceptions.data() + channel : nullptr),
        padded(p.blocks * kQConvBlock),
        y_scale(_mm256_set1_ps(p.params.y_scale)),
        zero(_mm256_set1_epi16(static_cast<int16_t>(p.params.y_zero))),
        lo(_mm256_set1_epi8(static_cast<char>(p.narrow_min))),
        hi(_mm256_set1_epi8(static_cast<char>(p.narrow_max))) {
    static_assert(kAffineExceptions == 1, "rounded() adds one slot's step");
  }

  // The same for the block `channels` channels on.
  QDQ_AVX2_TARGET __attribute__((always_inline)) NarrowRows shifted(int64_t channels) const {
    NarrowRows at = *this;
    at.multipliers += channels;
    at.bias_float += channels;
    if (at.exceptions) at.exceptions += channels;
    return at;
  }

  // Eight sums (bias added) of the block's half `h` (0 or 8), rounded.
  QDQ_AVX2_TARGET __attribute__((always_inline)) __m256i rounded(__m256i sums, int h) const {
    const __m256 s = _mm256_cvtepi32_ps(sums);
    const __m256 m = _mm256_loadu_ps(multipliers + h), b = _mm256_loadu_ps(bias_float + h);
    if constexpr (Form == NarrowForm::kFloatSteps)
      return _mm256_cvtps_epi32(_mm256_div_ps(_mm256_add_ps(_mm256_mul_ps(s, m), b), y_scale));
    __m256i t = _mm256_cvtps_epi32(_mm256_fmadd_ps(s, m, b));
    if constexpr (Form == NarrowForm::kAffineSlots)
      t = _mm256_add_epi32(t, _mm256_and_si256(_mm256_cmpeq_epi32(sums, load8(exceptions + h)),
                                               load8(exceptions + padded + h)));
    return t;
  }

  // A row's 16 sums (bias added) rounded, saturated to 16 bits, the zero
  // point added: channels 0-3, 8-11 in the low 128 bits, 4-7, 12-15 in the
  // high (the pack's in-lane order). Low: the first 8 alone, in place of
  // both halves.
  template <bool Low>
  QDQ_AVX2_TARGET __attribute__((always_inline)) __m256i words(RowSums sums) const {
    const __m256i low = rounded(sums.low, 0);
    return _mm256_adds_epi16(_mm256_packs_epi32(low, Low ? low : rounded(sums.high, 8)), zero);
  }

  // Rows r0 and r1 to out0 and out1 (r1 not stored where out1 is null; no
  // residual rows). Always inlined, the sums by value: held sums passed by
  // reference to an out-of-line call live on the stack through the GEMM
  // loop before it (ResNet-50 at batch 1 ran 1.4x the time so).
  template <bool Low = false>
  QDQ_AVX2_TARGET __attribute__((always_inline)) void store(RowSums r0, RowSums r1, Q* out0,
                                                            Q* out1, const Q*, const Q*) const {
    store_word_rows<Q, Low>(words<Low>(r0), out1 ? words<Low>(r1) : __m256i{}, lo, hi, out0, out1);
  }
};

// Eight 8-bit residual values from `at`, dequantized: float(r) -
// float(r_zero) is float(r - r_zero), both exact.
template <typename Q>
QDQ_AVX2_TARGET __attribute__((always_inline)) inline __m256 dequantized8(const Q* at, __m256 zero,
                                                                          __m256 scale) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(at));
  const __m256i r =
      std::is_same_v<Q, int8_t> ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
  return _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(r), zero), scale);
}

// The rows' words and stores of an epilogue with a residual (of type R), as
// NarrowRows' (Low: the residual's channels past 8 not read), from
// Rows::rounded(sums, half, residual) and Rows' zero (in 16-bit words), lo
// and hi (bounds in bytes).
template <typename Rows, typename Q, typename R = Q>
struct NarrowResidualStores {
  template <bool Low>
  QDQ_AVX2_TARGET __attribute__((always_inline)) __m256i words(RowSums sums,
                                                               const R* residual) const {
    const Rows& rows = static_cast<const Rows&>(*this);
    const __m256i low = rows.rounded(sums.low, 0, residual);
    return _mm256_adds_epi16(
        _mm256_packs_epi32(low, Low ? low : rows.rounded(sums.high, 8, residual)), rows.zero);
  }

  template <bool Low = false>
  QDQ_AVX2_TARGET __attribute__((always_inline)) void store(RowSums r0, RowSums r1, Q* out0,
                                                            Q* out1, const R* residual0,
                                                            const R* residual1) const {
    const Rows& rows = static_cast<const Rows&>(*this);
    store_word_rows<Q, Low>(words<Low>(r0, residual0), out1 ? words<Low>(r1, residual1) : __m256i{},
                            rows.lo, rows.hi, out0, out1);
  }
};

// The integer epilogue with an 8-bit residual (QLinearAdd) for whole
// blocks' rows, where the sum's value before its rounding is below 2^30 in
// magnitude (QConvPacked::residual_narrow): the conv's output less its zero
// point rounded in float (vroundps of the clamped product: an integer, the
// reference's float(t - y_zero) exactly), the sum's float steps as the
// reference's, then rounded and narrowed as NarrowRows narrows, the bytes
// clamped to [out_min, out_max]. Against the eight-lane steps (requantize8:
// t to int32 and back, two more float clamps and a 32-bit zero point add
// per eight values, one row a pack): 30 vector operations a row of 16
// where those took 39.
template <typename Q>
struct NarrowResidualRows : NarrowResidualStores<NarrowResidualRows<Q>, Q> {
  const float* multipliers;  // the block's
  __m256 conv_lo, conv_hi;   // the conv's output bounds less its zero point
  __m256 conv_scale, residual_zero, residual_scale, sum_scale;
  __m256i zero, lo, hi;  // sum_zero in 16-bit words; out_min, out_max in bytes

  QDQ_AVX2_TARGET NarrowResidualRows(const QConvPacked& p, int64_t channel)
      : multipliers(p.multipliers.data() + channel),
        conv_lo(_mm256_set1_ps(static_cast<float>(p.params.conv_min - p.params.y_zero))),
        conv_hi(_mm256_set1_ps(static_cast<float>(p.params.conv_max - p.params.y_zero))),
        conv_scale(_mm256_set1_ps(p.params.residual->conv_scale)),
        residual_zero(_mm256_set1_ps(static_cast<float>(p.params.residual->zero))),
        residual_scale(_mm256_set1_ps(p.params.residual->scale)),
        sum_scale(_mm256_set1_ps(p.params.residual->sum_scale)),
        zero(_mm256_set1_epi16(static_cast<int16_t>(p.params.residual->sum_zero))),
        lo(_mm256_set1_epi8(static_cast<char>(p.params.residual->out_min))),
        hi(_mm256_set1_epi8(static_cast<char>(p.params.residual->out_max))) {}

  // The same for the block `channels` channels on.
  QDQ_AVX2_TARGET __attribute__((always_inline)) NarrowResidualRows shifted(
      int64_t channels) const {
    NarrowResidualRows at = *this;
    at.multipliers += channels;
    return at;
  }

  // Eight sums (bias added) of the block's half `h` (0 or 8) with their
  // residual values from `residual`: QLinearAdd's value, rounded.
  QDQ_AVX2_TARGET __attribute__((always_inline)) __m256i rounded(__m256i sums, int h,
                                                                 const Q* residual) const {
    const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(sums), _mm256_loadu_ps(multipliers + h));
    const __m256 t = _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(v, conv_lo), conv_hi),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm256_cvtps_epi32(
        _mm256_div_ps(_mm256_add_ps(_mm256_mul_ps(t, conv_scale),
                                    dequantized8(residual + h, residual_zero, residual_scale)),
                      sum_scale));
  }
};

// A float sum with a residual (TensorRT-style QAT's block ends: the conv's
// float value plus the identity, the activation, then QuantizeLinear) for
// whole blocks' rows: qconv_float_value's steps lane for lane, then rounded
// and narrowed as NarrowRows' float steps are. An 8-bit residual
// (dequantized) where the value before its rounding is below 2^30 in
// magnitude (QConvPacked::float_residual_narrow), the activation in the
// byte clamp. A float residual (another conv's float output) may carry NaN
// and infinities: the activation's float steps, then quantize8's (NaN to 0,
// the float clamp to the conv's bounds), so that the packs narrow values
// already in range and the byte clamp to those bounds changes none. Against
// the eight-lane steps (float_value8, quantize8: a 32-bit zero point add per
// eight values, one row a pack, the form tested per eight, unfused with the
// GEMM tile).
template <typename Q, typename R = Q>
struct NarrowFloatResidualRows : NarrowResidualStores<NarrowFloatResidualRows<Q, R>, Q, R> {
  static constexpr bool kFloatResidual = std::is_same_v<R, float>;
  const float* multipliers;  // the block's
  const float* bias_float;
  __m256 y_scale, residual_zero, residual_scale;
  __m256 act_lo, act_hi, conv_lo, conv_hi;  // a float residual's steps
  bool bounded, relu;
  __m256i zero, lo, hi;  // y_zero in 16-bit words; the bounds in bytes

  QDQ_AVX2_TARGET NarrowFloatResidualRows(const QConvPacked& p, int64_t channel)
      : multipliers(p.multipliers.data() + channel),
        bias_float(p.bias_float.data() + channel),
        y_scale(_mm256_set1_ps(p.params.y_scale)),
        residual_zero(_mm256_set1_ps(static_cast<float>(p.params.residual->zero))),
        residual_scale(_mm256_set1_ps(p.params.residual->scale)),
        act_lo(_mm256_set1_ps(p.params.activation.lo)),
        act_hi(_mm256_set1_ps(p.params.activation.hi)),
        conv_lo(_mm256_set1_ps(static_cast<float>(p.params.conv_min - p.params.y_zero))),
        conv_hi(_mm256_set1_ps(static_cast<float>(p.params.conv_max - p.params.y_zero))),
        bounded(p.params.activation.bounded()),
        relu(p.params.activation.relu),
        zero(_mm256_set1_epi16(static_cast<int16_t>(p.params.y_zero))),
        lo(_mm256_set1_epi8(static_cast<char>(kFloatResidual ? p.params.conv_min : p.narrow_min))),
        hi(_mm256_set1_epi8(static_cast<char>(kFloatResidual ? p.params.conv_max : p.narrow_max))) {
  }

  // The same for the block `channels` channels on.
  QDQ_AVX2_TARGET __attribute__((always_inline)) NarrowFloatResidualRows shifted(
      int64_t channels) const {
    NarrowFloatResidualRows at = *this;
    at.multipliers += channels;
    at.bias_float += channels;
    return at;
  }

  // Eight sums (bias added) of the block's half `h` (0 or 8) with their
  // residual values from `residual`, over y_scale, rounded.
  QDQ_AVX2_TARGET __attribute__((always_inline)) __m256i rounded(__m256i sums, int h,
                                                                 const R* residual) const {
    __m256 v =
        _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(sums), _mm256_loadu_ps(multipliers + h)),
                      _mm256_loadu_ps(bias_float + h));
    if constexpr (!kFloatResidual) {
      return _mm256_cvtps_epi32(_mm256_div_ps(
          _mm256_add_ps(v, dequantized8(residual + h, residual_zero, residual_scale)), y_scale));
    } else {
      v = _mm256_add_ps(v, _mm256_loadu_ps(residual + h));
      if (bounded) v = activated8(v, relu, act_lo, act_hi);
      // quantize8's steps; the zero point is added in the words
      return rounded_quotient8(v, y_scale, conv_lo, conv_hi);
    }
  }
};

// Stored sums ([row][stride], bias not added) through `narrow` (NarrowRows
// or NarrowResidualRows), `rows` rows `pitch` apart in the output and the
// residual (null without one).
template <typename Narrow, typename Q, typename R>
QDQ_AVX2_TARGET void store_narrow_rows(const Narrow& narrow, const int32_t* acc, int64_t stride,
                                       const int32_t* bias, int rows, Q* out, const R* residual,
                                       int64_t pitch) {
  const __m256i bias_low = load8(bias), bias_high = load8(bias + 8);
  const auto row = [&](int r) QDQ_AVX2_TARGET {
    return RowSums{_mm256_add_epi32(load8(acc + r * stride), bias_low),
                   _mm256_add_epi32(load8(acc + r * stride + 8), bias_high)};
  };
  const auto residual_row = [&](int r) { return residual ? residual + r * pitch : nullptr; };
  for (int r = 0; r < rows; r += 2) {
    const bool pair = r + 1 < rows;
    narrow.store(row(r), pair ? row(r + 1) : RowSums{}, out + r * pitch,
                 pair ? out + (r + 1) * pitch : nullptr, residual_row(r),
                 pair ? residual_row(r + 1) : nullptr);
  }
}

// Whether a layer's whole blocks take NarrowRows, or with a residual
// NarrowResidualRows (NarrowFloatResidualRows for a float sum's; a float
// residual's clamps in float as the eight-lane steps do, so it takes any
// layer the vector steps take).
template <typename R>
inline bool narrow_rows_apply(const QConvPacked& p, const R* residual) {
  if (!residual) return p.saturating_narrow;
  if constexpr (std::is_same_v<R, float>) return p.params.float_sum && p.finite_multipliers;
  return p.params.float_sum ? p.float_residual_narrow : p.residual_narrow;
}

// f(the layer's NarrowRows or NarrowResidualRows for the block from
// `channel` on; R: the residual's type).
template <typename Q, typename R = Q, typename F>
QDQ_AVX2_TARGET __attribute__((always_inline)) inline void with_narrow_rows(const QConvPacked& p,
                                                                            int64_t channel,
                                                                            F&& f) {
  if constexpr (std::is_same_v<R, float>)
    f(NarrowFloatResidualRows<Q, float>(p, channel));
  else if (p.params.residual && p.params.float_sum)
    f(NarrowFloatResidualRows<Q>(p, channel));
  else if (p.params.residual)
    f(NarrowResidualRows<Q>(p, channel));
  else if (p.params.float_sum && !p.affine_sum)
    f(NarrowRows<Q, NarrowForm::kFloatSteps>(p, channel));
  else if (p.affine_corrected())
    f(NarrowRows<Q, NarrowForm::kAffineSlots>(p, channel));
  else
    f(NarrowRows<Q, NarrowForm::kAffine>(p, channel));
}

// The epilogue and the depthwise kernel, which the AVX-VNNI kernel shares
// (its GEMM multiplies bytes: it takes nothing of the words below).
struct Avx2EpilogueOps {
  template <typename Q, typename R>
  QDQ_AVX2_TARGET static void epilogue(const QConvPacked& p, const EpilogueTile<Q, R>& tile) {
    // The tile's fields in locals too (see Lanes8).
    const int rows = tile.rows, blocks = tile.blocks;
    const int64_t first = tile.channel, channels = tile.channels, pitch = tile.pitch;
    const int32_t* const acc = tile.acc;
    const R* const residual = tile.residual;
    Q* const out = tile.out;
    int b = 0;  // the whole blocks NarrowRows takes, then the rest
    // An 8-bit residual has the output's type; a float one is a float sum's.
    if constexpr (!std::is_same_v<Q, float> && (std::is_same_v<Q, R> || std::is_same_v<R, float>))
      if (narrow_rows_apply(p, residual))
        for (; b < blocks && (b + 1) * kQConvBlock <= channels; ++b) {
          const int64_t offset = b * kQConvBlock;
          with_narrow_rows<Q, R>(p, first + offset, [&](const auto& narrow) QDQ_AVX2_TARGET {
            store_narrow_rows(narrow, acc + offset, blocks * kQConvBlock,
                              p.bias.data() + first + offset, rows, out + offset,
                              residual ? residual + offset : nullptr, pitch);
          });
        }
    if (b * kQConvBlock >= channels) return;
    const Lanes8 lanes(p);
    for (; b < blocks; ++b) {
      const int64_t offset = b * kQConvBlock;
      const int64_t count = std::min<int64_t>(kQConvBlock, channels - offset);
      if (count <= 0) break;
      for (int r = 0; r < rows; ++r) {
        const int64_t at = r * pitch + offset;
        store16<Q, R>(p, lanes, first + offset, static_cast<int>(count),
                      acc + (r * blocks + b) * kQConvBlock, residual ? residual + at : nullptr,
                      out + at);
      }
    }
  }

  // Up to 16 channels of one pixel: 16 or 8 at a time in vectors, fewer than
  // 8 (a block's last) by the scalar epilogue. (24-channel layers ran their
  // second block's 8 channels scalar: MobileNetV2's 24-channel projections
  // 25-36 % faster at this level with the 8-channel path.) Whole blocks keep
  // their own two-half path: through lanes8, even always inlined, they were
  // 1-5 % slower (MobileNetV2 at QDQ_ISA=avx2, batch 8, one thread).
  template <typename Q, typename R>
  QDQ_AVX2_TARGET static void store16(const QConvPacked& p, const Lanes8& l, int64_t channel,
                                      int count, const int32_t* acc16, const R* residual, Q* out) {
    const R* residual_high = residual ? residual + 8 : nullptr;
    // A float output takes any multiplier: its steps are IEEE's either way.
    if (count < 8 || (!std::is_same_v<Q, float> && !l.finite))
      return scalar_epilogue(p, channel, count, acc16, residual, out);
    if (count < 16) {
      if constexpr (std::is_same_v<Q, float>)
        _mm256_storeu_ps(out, lanes8<Q>(l, channel, acc16, residual));
      else
        store_narrowed8(out, lanes8<Q>(l, channel, acc16, residual));
      return scalar_epilogue(p, channel + 8, count - 8, acc16 + 8, residual_high, out + 8);
    }
    if constexpr (std::is_same_v<Q, float>) {
      _mm256_storeu_ps(out, float_value8(l, channel, acc16, residual));
      _mm256_storeu_ps(out + 8, float_value8(l, channel + 8, acc16 + 8, residual_high));
    } else if (l.affine) {
      store_narrowed16(out, affine8(l, channel, acc16), affine8(l, channel + 8, acc16 + 8));
    } else if (l.float_sum) {
      store_narrowed16(out, quantize8(l, float_value8(l, channel, acc16, residual)),
                       quantize8(l, float_value8(l, channel + 8, acc16 + 8, residual_high)));
    } else if constexpr (std::is_same_v<Q, R>) {  // an integer residual has the output's type
      store_requantized16(l, channel,
                          RowSums{_mm256_add_epi32(load8(acc16), load8(l.bias + channel)),
                                  _mm256_add_epi32(load8(acc16 + 8), load8(l.bias + channel + 8))},
                          residual, out);
    }
  }

  // Eight channels' results (a partial block's first eight): the float values
  // for a float output, else int32 lanes within Q's range.
  template <typename Q, typename R>
  QDQ_AVX2_TARGET static auto lanes8(const Lanes8& l, int64_t channel, const int32_t* acc8,
                                     const R* residual) {
    if constexpr (std::is_same_v<Q, float>) {
      return float_value8(l, channel, acc8, residual);
    } else {
      if (l.affine) return affine8(l, channel, acc8);
      if (l.float_sum) return quantize8(l, float_value8(l, channel, acc8, residual));
      if constexpr (std::is_same_v<Q, R>)  // an integer residual has the output's type
        return epilogue8(l, channel, acc8, residual ? residual8(l, residual) : _mm256_setzero_ps());
      return _mm256_setzero_si256();  // read_qconv_params admits no other
    }
  }

  // Whether depthwise_row takes the layer: 3x3 with dilation 1 along the
  // row at stride 1 or 2 (depthwise_3x3), padded by at most a column at
  // either end, whole blocks, and an epilogue that NarrowRows or
  // NarrowResidualRows narrows.
  template <typename Q, typename R>
  static bool fuses_depthwise(const QConvPacked& p, const R* residual) {
    const SpatialGeometry& g = p.params.shape.geometry;
    return depthwise_3x3_takes(p) && g.pad_begin[2] <= 1 && g.pad_end[2] <= 1 &&
           p.params.shape.out_channels % kQConvBlock == 0 && narrow_rows_apply(p, residual);
  }

  // depthwise and the epilogue in one, a whole row of outputs (`out`,
  // `residual`: its first pixel's) from the taps of its first pixel, for a
  // layer fuses_depthwise takes. Each pixel's sums go from registers to its
  // outputs, where storing them for the epilogue to read back took a third of
  // the depthwise layers' time (MobileNetV2 u8s8, batch 32, one thread,
  // `perf`). One run over the row, the padding columns x_zero's: the edge
  // pixels as runs of their own made their columns anew (three for one
  // pixel), an 8-pixel row 14 columns where one run makes 10.
  template <typename TX, typename Q>
  QDQ_AVX2_TARGET static void depthwise_row(const QConvPacked& p, const TX* const* taps, Q* out,
                                            const Q* residual) {
    const QConvParams& q = p.params;
    const SpatialGeometry& g = q.shape.geometry;
    const int64_t pitch = q.shape.out_channels, pixels = q.out_width();
    // The last pixel's right column lies past the row where the end is padded.
    const bool padded_end = (pixels - 1) * g.stride[2] - g.pad_begin[2] + 2 >= q.width();
    const auto* zero = padded_end ? reinterpret_cast<const TX*>(p.zero_pixels.data()) : nullptr;
    with_narrow_rows<Q>(p, 0, [&](const auto& narrow) QDQ_AVX2_TARGET {
      const auto stores = [&](int64_t channel) QDQ_AVX2_TARGET {
        const int32_t* const bias = p.bias.data() + channel;
        return DepthwiseNarrow<std::decay_t<decltype(narrow)>, Q>{
            narrow.shifted(channel),
            load8(bias),
            load8(bias + 8),
            out + channel,
            residual ? residual + channel : nullptr,
            pitch};
      };
      if (g.stride[2] == 1) return depthwise_3x3<1>(p, taps, pixels, stores, zero);
      depthwise_3x3<2>(p, taps, pixels, stores, zero);
    });
  }

  // A 3x3 kernel along rows at stride 1 or 2: depthwise_3x3's.
  static bool depthwise_3x3_takes(const QConvPacked& p) {
    const SpatialGeometry& g = p.params.shape.geometry;
    return g.kernel[1] == 3 && g.kernel[2] == 3 && g.dilation[2] == 1 &&
           (g.stride[2] == 1 || g.stride[2] == 2);
  }

  // depthwise_3x3's sink into accumulators [pixel][padded] from a block's
  // channel on.
  struct DepthwiseSums {
    int32_t* acc;
    int64_t padded;
    QDQ_AVX2_TARGET __attribute__((always_inline)) void operator()(int64_t i, __m256i lo,
                                                                   __m256i hi) const {
      store_depthwise_sums(acc + i * padded, lo, hi);
    }
    void finish(int64_t) const {}
  };

  // depthwise_3x3's sink through `narrow` (NarrowRows or NarrowResidualRows
  // for the block): a pixel's sums held until the next one's, two rows a
  // pack as NarrowRows stores them. The block's bias in registers: read
  // through a pointer, it was read again after every store of bytes (which
  // may alias it).
  template <typename Narrow, typename Q>
  struct DepthwiseNarrow {
    Narrow narrow;
    __m256i bias_low, bias_high;  // channels 0-7, 8-15
    Q* out;
    const Q* residual;
    int64_t pitch;
    RowSums held{};

    QDQ_AVX2_TARGET __attribute__((always_inline)) void operator()(int64_t i, __m256i lo,
                                                                   __m256i hi) {
      const RowSums sums{_mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), bias_low),
                         _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x31), bias_high)};
      if (i % 2 == 0) {
        held = sums;
        return;
      }
      narrow.store(held, sums, out + (i - 1) * pitch, out + i * pitch, row_residual(i - 1),
                   row_residual(i));
    }
    QDQ_AVX2_TARGET __attribute__((always_inline)) void finish(int64_t pixels) const {
      if (pixels % 2)
        narrow.store(held, RowSums{}, out + (pixels - 1) * pitch, nullptr, row_residual(pixels - 1),
                     nullptr);
    }
    const Q* row_residual(int64_t i) const { return residual ? residual + i * pitch : nullptr; }
  };

  // Sixteen channels and two taps at a time: each tap's channels sign- or
  // zero-extended to 16 bits, the two taps' words interleaved in-lane
  // (unpacklo/hi_epi16) and multiplied by the weights packed in that order
  // (depthwise_pairs, its pairs depthwise_pair_tap's): vpmaddwd adds x0 * w0
  // + x1 * w1 exactly into a lane (|x| <= 255, |w| <= 128). Where one product
  // per lane took a vpmaddwd, this takes one for two (MobileNetV2's
  // depthwise layers at this level 1.7-1.8x faster, the model 10-18 %). The
  // sums come out as channels {0-3, 8-11} and {4-7, 12-15}, put back in
  // order as stored. A tap's last partial block is read from a copy: 16
  // bytes from it could pass the tensor's end.
  template <typename TX>
  QDQ_AVX2_TARGET static void depthwise(const QConvPacked& p, const TX* const* taps, int64_t step,
                                        int64_t pixels, int32_t* acc) {
    const SpatialGeometry& g = p.params.shape.geometry;
    const int64_t channels = p.params.shape.out_channels, padded = p.blocks * kQConvBlock;
    if (depthwise_3x3_takes(p)) {
      const auto sums = [&](int64_t channel) { return DepthwiseSums{acc + channel, padded}; };
      if (g.stride[2] == 1) return depthwise_3x3<1>(p, taps, pixels, sums);
      return depthwise_3x3<2>(p, taps, pixels, sums);
    }
    const int64_t tap_count = g.kernel_size(), pairs = (tap_count + 1) / 2;
    const auto* weights = reinterpret_cast<const __m256i*>(p.depthwise_pairs.data());
    for (int64_t i = 0; i < pixels; ++i)
      for (int64_t block = 0; block < p.blocks; ++block) {
        const int64_t channel = block * kQConvBlock;
        const int64_t count = std::min<int64_t>(kQConvBlock, channels - channel);
        const auto tap = [&](int64_t place) QDQ_AVX2_TARGET {
          return depthwise_words(taps[depthwise_pair_tap(g.kernel, place)] + i * step + channel,
                                 count);
        };
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        for (int64_t t = 0; t < tap_count; t += 2) {
          const __m256i x0 = tap(t), x1 = t + 1 < tap_count ? tap(t + 1) : _mm256_setzero_si256();
          const __m256i* w = weights + (block * pairs + t / 2) * 2;
          lo = _mm256_add_epi32(
              lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), _mm256_loadu_si256(w)));
          hi = _mm256_add_epi32(
              hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), _mm256_loadu_si256(w + 1)));
        }
        store_depthwise_sums(acc + i * padded + channel, lo, hi);
      }
  }

  // A 3x3 kernel's run of pixels `Stride` input columns apart (dilation 1
  // along the row), block by block: a pixel's left column of taps is the
  // pixel before's right one (the same bytes, or x_zero's where a row lies
  // outside), and at stride 1 its middle one the pixel before's right, so
  // each pixel widens only its new columns: rows 0 and 1 interleaved, pairs
  // of depthwise_pair_tap's order, and row 2's words, which pair as the left
  // and middle columns' (taps 6 and 7) and with zeros (tap 8). Per pixel and
  // block at stride 1, 3 widened loads and 6 unpacks where the pairs took 9
  // and 10 (MobileNetV2 u8s8's depthwise layers at this level, batch 8, one
  // thread: 0.73-0.78 the time); at stride 2, 6 and 8.
  // `sink(channel)` takes a block's sums, pixel by pixel (DepthwiseSums,
  // DepthwiseNarrow). `last_right`: where not null, the x_zero bytes the
  // last pixel's right column reads (it lies in the padding).
  template <int Stride, typename TX, typename Sink>
  QDQ_AVX2_TARGET static void depthwise_3x3(const QConvPacked& p, const TX* const* taps,
                                            int64_t pixels, const Sink& sink,
                                            const TX* last_right = nullptr) {
    const int64_t channels = p.params.shape.out_channels;
    const auto* weights = reinterpret_cast<const __m256i*>(p.depthwise_pairs.data());
    const __m256i zero = _mm256_setzero_si256();
    struct Column {
      __m256i low, high;  // rows 0 and 1 interleaved: unpacklo/hi_epi16
      __m256i last;       // row 2
    };
    for (int64_t block = 0; block < p.blocks; ++block) {
      const int64_t channel = block * kQConvBlock;
      const int64_t count = std::min<int64_t>(kQConvBlock, channels - channel);
      const auto column = [&](int kw, int64_t i) QDQ_AVX2_TARGET __attribute__((always_inline)) {
        const int64_t at = i * Stride * channels + channel;
        const __m256i r0 = depthwise_words(taps[kw] + at, count);
        const __m256i r1 = depthwise_words(taps[3 + kw] + at, count);
        return Column{_mm256_unpacklo_epi16(r0, r1), _mm256_unpackhi_epi16(r0, r1),
                      depthwise_words(taps[6 + kw] + at, count)};
      };
      const __m256i* const w = weights + 10 * block;  // 5 pairs a block
      const auto product = [&](int place_pair, int half, __m256i x) QDQ_AVX2_TARGET
          __attribute__((always_inline)) {
        return _mm256_madd_epi16(x, _mm256_loadu_si256(w + 2 * place_pair + half));
      };
      // A half's sums: the three columns' pairs of rows 0 and 1, then taps
      // 6 and 7, then tap 8 and a zero.
      const auto half_sums = [&](__m256i left, __m256i middle, __m256i right, __m256i taps67,
                                 __m256i tap8, int half) QDQ_AVX2_TARGET
          __attribute__((always_inline)) {
        return _mm256_add_epi32(
            _mm256_add_epi32(_mm256_add_epi32(product(0, half, left), product(1, half, middle)),
                             _mm256_add_epi32(product(2, half, right), product(3, half, taps67))),
            product(4, half, tap8));
      };
      // The padding's column: the x_zero bytes of every row.
      const auto padding = [&]() QDQ_AVX2_TARGET __attribute__((always_inline)) {
        const __m256i words = depthwise_words(last_right + channel, count);
        return Column{_mm256_unpacklo_epi16(words, words), _mm256_unpackhi_epi16(words, words),
                      words};
      };
      auto block_sink = sink(channel);
      Column left = column(0, 0), middle = column(1, 0);
      for (int64_t i = 0; i < pixels; ++i) {
        if (Stride == 2 && i > 0) middle = column(1, i);
        const Column right = last_right && i == pixels - 1 ? padding() : column(2, i);
        const __m256i lo = half_sums(left.low, middle.low, right.low,
                                     _mm256_unpacklo_epi16(left.last, middle.last),
                                     _mm256_unpacklo_epi16(right.last, zero), 0);
        const __m256i hi = half_sums(left.high, middle.high, right.high,
                                     _mm256_unpackhi_epi16(left.last, middle.last),
                                     _mm256_unpackhi_epi16(right.last, zero), 1);
        block_sink(i, lo, hi);
        left = Stride == 1 ? middle : right;
        middle = right;
      }
      block_sink.finish(pixels);
    }
  }

  // A block's sums from their unpack order ({0-3, 8-11}, {4-7, 12-15}) to
  // channel order.
  QDQ_AVX2_TARGET static void store_depthwise_sums(int32_t* out, __m256i lo, __m256i hi) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8),
                        _mm256_permute2x128_si256(lo, hi, 0x31));
  }

  // Sixteen channels from `at` (`count` of them; the rest zero) as 16-bit words.
  template <typename TX>
  QDQ_AVX2_TARGET static __m256i depthwise_words(const TX* at, int64_t count) {
    __m128i bytes;
    if (count == kQConvBlock) {
      bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    } else {
      alignas(16) TX part[kQConvBlock] = {};
      std::memcpy(part, at, static_cast<size_t>(count));
      bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(part));
    }
    return std::is_same_v<TX, int8_t> ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes);
  }
};

// The AVX2 kernel: the shared parts and its GEMM on 16-bit words.
struct Avx2Ops : Avx2EpilogueOps {
  static constexpr ActivationDomain kDomain = ActivationDomain::kSigned;
  // One block per panel: a block's pair weights run contiguously.
  static constexpr TileShape kTileShapes[] = {{kWordTileRows, 1}};
  static bool accepts(const QConvPacked&) { return true; }  // every weight, -128 included

  // The tile's first `pixels` rows as 16-bit words, [rows][k_padded]: each
  // segment's bytes XORed with the flip and sign-extended, in K order.
  QDQ_AVX2_TARGET static void widen_rows(const QConvPacked& p, int rows, int pixels, TileRows& a,
                                         int16_t* words) {
    if (p.split_rows && split_rows(p, rows, pixels, a, reinterpret_cast<uint8_t*>(words))) return;
    a.corrections = nullptr;
    const __m128i flip = _mm_set1_epi32(static_cast<int>(a.flip));
    const int64_t bytes = 4 * a.quads;  // a segment's, in each row
    for (int r = 0; r < pixels; ++r) {
      int16_t* out = words + r * p.k_padded;
      for (int s = 0; s < a.segments; ++s) {
        const uint8_t* in = a.segment[static_cast<size_t>(s)] + r * a.stride;
        int64_t i = 0;
        for (; i + 16 <= bytes; i += 16, out += 16) {
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                              _mm256_cvtepi8_epi16(_mm_xor_si128(v, flip)));
        }
        for (; i < bytes; i += 4, out += 4) {  // a tap's last quads: no read past the row
          const __m128i v = _mm_cvtsi32_si128(tile_quad(in + i));
          _mm_storel_epi64(reinterpret_cast<__m128i*>(out),
                           _mm_cvtepi8_epi16(_mm_xor_si128(v, flip)));
        }
      }
    }
    a.segments = 1;
    a.segment[0] = reinterpret_cast<const uint8_t*>(words);
    a.quads = p.k_padded / 2;  // 4-byte groups: K pairs
    a.stride = 2 * p.k_padded;
    a.flip = 0;
  }

  // The tile's first `pixels` rows as 7-bit bytes where few values lie
  // outside [center, center + 127] (QConvPacked::split_rows), [rows][k_padded]
  // in `bytes`, and the remainders after them (TileRows::corrections): false,
  // the rows left to widening, where more than one value in 64 would need
  // one (the stem's rows, a layer fed values far from its zero point: each
  // correction costs about as much as 4 K of a row's products). Only the
  // pixels' rows: a layer's last tile has fewer, and its other rows (a
  // gathered tile's zero bytes, outside the window where the zero point is
  // 0, as after a ReLU) sent every layer's last tile to widening, its 16-bit
  // weights (twice the int8 ones) read from memory for that tile alone
  // (ResNet-50 at batch 1, two threads: layer 4's 1x1 layers 0.81-0.85x the
  // time, the classifier's one pixel 0.67x; MobileNetV2 0.95x). A
  // byte's d = u - center, taken modulo 256 (one subtraction of the flip and
  // the centre together from the stored byte), has its top bit clear exactly
  // where d lies in [0, 127] (the centre is at most 128, so d >= -128): lo,
  // d's low 7 bits, is d itself there and d -/+ 128 elsewhere, remainder
  // +/-128. Three vector operations a 32-byte step, where clamping and
  // comparing took six (MobileNetV2 u8s8's projections, batch 32, one
  // thread: 0.977-0.982x the time).
  QDQ_AVX2_TARGET static bool split_rows(const QConvPacked& p, int rows, int pixels, TileRows& a,
                                         uint8_t* bytes) {
    auto* const begin = reinterpret_cast<int32_t*>(bytes + rows * p.k_padded);
    int32_t* const entries = correction_entries(begin);
    const int64_t capacity = pixels * p.k_padded / 64, row_bytes = p.k_padded;
    const int center = p.split_center;
    const auto to_unsigned = static_cast<uint8_t>(a.flip ^ 0x80808080u);
    // u = stored ^ to_unsigned = stored + to_unsigned, modulo 256.
    const __m256i offsets = _mm256_set1_epi8(static_cast<char>(center - to_unsigned));
    const __m256i low7 = _mm256_set1_epi8(127);
    int32_t count = 0;
    int filled = 0;  // the rows whose begin is set
    begin[0] = 0;
    // The bytes of `mask` from `in`, at `at` in `bytes`: remainders of 128,
    // negative where u < center. In order of `at`, so row by row.
    const auto record = [&](uint32_t mask, const uint8_t* in, int64_t at) {
      for (; mask; mask &= mask - 1) {
        const int j = __builtin_ctz(mask);
        if (count == capacity) return false;
        const int64_t row = (at + j) / row_bytes, k = (at + j) % row_bytes;
        while (filled < row) begin[++filled] = count;
        int32_t* const entry = entries + kCorrectionInts * count;
        entry[0] = static_cast<int32_t>(k / 4);
        entry[1] = static_cast<int32_t>(128u << (8 * (k % 4)));
        entry[2] = (in[j] ^ to_unsigned) < center ? -1 : 0x10001;
        ++count;
      }
      return true;
    };
    // `length` bytes from `in` to `bytes` + `at`.
    const auto split_run = [&](const uint8_t* in, int64_t length, int64_t at) QDQ_AVX2_TARGET
        __attribute__((always_inline)) {
      uint8_t* const out = bytes + at;
      int64_t i = 0;
      for (; i + 32 <= length; i += 32) {
        const __m256i d =
            _mm256_sub_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i)), offsets);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_and_si256(d, low7));
        const auto outside = static_cast<uint32_t>(_mm256_movemask_epi8(d));
        if (outside && !record(outside, in + i, at + i)) return false;
      }
      // 16 bytes at a time, then a tap's last quads (no read past the run).
      for (int64_t step = 16; i < length; i += step) {
        step = i + 16 <= length ? 16 : 4;
        const __m128i raw = step == 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))
                                       : _mm_cvtsi32_si128(tile_quad(in + i));
        const __m128i d = _mm_sub_epi8(raw, _mm256_castsi256_si128(offsets));
        const __m128i lo = _mm_and_si128(d, _mm256_castsi256_si128(low7));
        if (step == 16) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), lo);
        } else {
          const int32_t quad = _mm_cvtsi128_si32(lo);
          std::memcpy(out + i, &quad, 4);
        }
        const uint32_t outside =
            static_cast<uint32_t>(_mm_movemask_epi8(d)) & (step == 16 ? 0xffffu : 0xfu);
        if (outside && !record(outside, in + i, at + i)) return false;
      }
      return true;
    };
    const int64_t piece = 4 * a.quads;  // a segment's bytes in each row
    if (a.segments == 1 && a.stride == row_bytes && piece == row_bytes) {
      // The rows lie one after another (a 1x1 layer's, or gathered): one
      // run in 32-byte steps, where row by row a short row took 16- and
      // 4-byte ones (MobileNetV2's expansions, K = 16-32, whose split was
      // 11-19 % of their time: 0.88-0.97x at batch 32, one thread).
      if (!split_run(a.segment[0], pixels * row_bytes, 0)) return false;
    } else {
      for (int r = 0; r < pixels; ++r)
        for (int s = 0; s < a.segments; ++s)
          if (!split_run(a.segment[static_cast<size_t>(s)] + r * a.stride, piece,
                         r * row_bytes + s * piece))
            return false;
    }
    while (filled < rows) begin[++filled] = count;
    a.segments = 1;
    a.segment[0] = bytes;
    a.quads = p.k_padded / 4;
    a.stride = p.k_padded;
    a.flip = 0;
    a.corrections = begin;
    return true;
  }

  static void gemm_tile(const QConvPacked& p, int, int, int64_t block, const TileRows& a,
                        int32_t* acc) {
    if (p.params.shape.out_channels - block * kQConvBlock <= 8)
      tile_sums<true>(p, a, block, acc);
    else
      tile_sums<false>(p, a, block, acc);
  }

  template <bool Low>
  QDQ_AVX2_TARGET static void tile_sums(const QConvPacked& p, const TileRows& a, int64_t block,
                                        int32_t* acc) {
    const __m256i zero = _mm256_setzero_si256();
    WordTileSums t;
    accumulate_rows<kWordTileRows, Low>(p, a, block, RowSums{zero, zero}, t);
    store_rows<kWordTileRows>(acc, t);
  }

  // The GEMM tiles and the epilogue in one, for a tile's blocks [block, end)
  // in one call: each block's sums start at the bias and stay in registers
  // (no store and load of twelve vectors, no bias add). With NarrowRows,
  // MobileNetV2 u8s8's convs at this level (batch 8, one thread) took
  // 0.814-0.824 the time of the eight-lane steps from stored sums,
  // ResNet-18's 0.989-0.998 (most of its layers are Winograd's). One call
  // for all of them, where each block took its own, sets up a tile once:
  // the dispatch on its rows, the narrowing constants, the driver's
  // epilogue tile (MobileNetV2 u8s8's expansions, K = 16-160 for 96-960
  // channels, 0.89-0.94x the time at batch 32, one thread; the model 0.97x
  // there and 0.96x at batch 1, two threads). The blocks done from `block`
  // on (the driver runs the rest): those whole, then a layer's last block
  // of 8, with finite multipliers where NarrowRows applies or the epilogue
  // is the integer one (a float residual's always applies); none for the
  // rest (float sums too large to narrow, float outputs).
  template <typename Q, typename R>
  static int64_t fused_blocks(const QConvPacked& p, int, int64_t block, int64_t end,
                              const TileRows& a, const EpilogueTile<Q, R>& tile) {
    if constexpr (std::is_same_v<Q, float> || !(std::is_same_v<Q, R> || std::is_same_v<R, float>)) {
      return 0;
    } else {
      const bool lanes_fit = narrow_rows_apply(p, tile.residual) || !p.params.float_sum;
      if (!p.finite_multipliers || !lanes_fit) return 0;
      const int64_t channels = p.params.shape.out_channels;
      const int64_t whole = std::clamp(channels / kQConvBlock, block, end);
      // A block of 8 (tile_words' Low): MobileNetV2's 24-channel projections.
      const bool low = whole < end && channels - whole * kQConvBlock == 8;
      // A layer's last tile computes only the rows its pixels fill: ResNet-18's
      // 4x4 layers at batch 1 are two tiles of six and one of four.
      fused_by_rows<Q, R>(std::make_integer_sequence<int, kWordTileRows>())[tile.rows - 1](
          p, a, block, whole, low, tile);
      return whole - block + (low ? 1 : 0);
    }
  }

  // fused_words for 1 to kWordTileRows rows, by rows less one.
  template <typename Q, typename R, int... Less>
  static constexpr auto fused_by_rows(std::integer_sequence<int, Less...>) {
    return std::array{&fused_words<Q, R, Less + 1>...};
  }

  // Blocks [block, whole) of the tile, then block `whole` as a block of 8
  // where `low`; the tile's output and residual start at block `block`.
  template <typename Q, typename R, int Rows>
  QDQ_AVX2_TARGET static void fused_words(const QConvPacked& p, const TileRows& a, int64_t block,
                                          int64_t whole, bool low, const EpilogueTile<Q, R>& tile) {
    const int64_t pitch = tile.pitch;
    Q* const out = tile.out;
    const R* const residual = tile.residual;
    const auto blocks = [&](const auto& narrow) QDQ_AVX2_TARGET __attribute__((always_inline)) {
      for (int64_t b = block; b < whole; ++b)
        fused_block<Q, R, Rows, false>(p, a, b, narrow, (b - block) * kQConvBlock, out, residual,
                                       pitch);
      if (low)
        fused_block<Q, R, Rows, true>(p, a, whole, narrow, (whole - block) * kQConvBlock, out,
                                      residual, pitch);
    };
    if (narrow_rows_apply(p, residual))
      with_narrow_rows<Q, R>(p, block * kQConvBlock, blocks);
    else if constexpr (std::is_same_v<Q, R>)
      blocks(Lanes8(p));  // the integer epilogue (a float sum here narrows: fused_blocks)
  }

  // One block of the tile through `narrow` (NarrowRows or
  // NarrowResidualRows for the tile's first block, or Lanes8), its outputs
  // and residual `offset` channels on from the tile's. Low: a block of 8
  // channels (MobileNetV2's 24-channel projections ran their second block
  // unfused, through stored sums and the eight-lane steps, as slowly as a
  // whole block).
  template <typename Q, typename R, int Rows, bool Low, typename Narrow>
  QDQ_AVX2_TARGET __attribute__((always_inline)) static void fused_block(
      const QConvPacked& p, const TileRows& a, int64_t b, const Narrow& narrow, int64_t offset,
      Q* out, const R* residual, int64_t pitch) {
    const int64_t channel = b * kQConvBlock;
    const int32_t* const bias = p.bias.data() + channel;  // padded to whole blocks
    WordTileSums t;
    accumulate_rows<Rows, Low>(p, a, b, RowSums{load8(bias), load8(bias + 8)}, t);
    out += offset;
    if (residual) residual += offset;
    if constexpr (std::is_same_v<Narrow, Lanes8>) {
      each_row<Rows>(
          t, [&](RowSums s, int64_t r) QDQ_AVX2_TARGET __attribute__((always_inline)) {
            const R* const row_residual = residual ? residual + r * pitch : nullptr;
            if constexpr (Low)
              store_narrowed8(out + r * pitch,
                              requantize8(narrow, channel, s.low,
                                          row_residual ? residual8(narrow, row_residual)
                                                       : _mm256_setzero_ps()));
            else
              store_requantized16(narrow, channel, s, row_residual, out + r * pitch);
          });
    } else {
      const Narrow at = narrow.shifted(offset);
      // Rows r and r + 1 (where the tile has it), from their sums.
      const auto pair = [&](RowSums first, RowSums second, int r) QDQ_AVX2_TARGET
          __attribute__((always_inline)) {
        const bool two = r + 1 < Rows;
        at.template store<Low>(first, second, out + r * pitch,
                               two ? out + (r + 1) * pitch : nullptr,
                               residual ? residual + r * pitch : nullptr,
                               residual && two ? residual + (r + 1) * pitch : nullptr);
      };
      pair(t.s0, t.s1, 0);
      if constexpr (Rows > 2) pair(t.s2, t.s3, 2);
      if constexpr (Rows > 4) pair(t.s4, t.s5, 4);
    }
  }
  // Layers whose shape takes the Winograd form (QConvPacked::winograd): the
  // whole layer, in avx2/qconv_winograd.h.
  template <typename Q, typename R>
  static void winograd(const QConvPacked& p, const uint8_t* x, const R* residual, Q* out);
};

}  // namespace avx2
}  // namespace qdq
