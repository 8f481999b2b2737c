// ai.qdq.QConv's Winograd forms with AVX2 (the maths, and why they are exact,
// in kernels/qconv_winograd.h): 16 multiply-adds where the direct tiles do 36
// (F(2x4, 3x3): 24 for 72), on the same 16-bit words
// and the same tile_words GEMM. The tiles (blocks of 2 output rows) go in
// groups over the flattened (image, tile row, tile column) order; a group's
// input is transformed once, V[position][tile][c], then for each 16-channel
// block: one GEMM per position (tiles by channels times the position's
// transformed weights), the output transform, and the fused epilogue over
// each tile row's run of output pixels.
#pragma once

#include <array>

#include "runtime/kernels/avx2/qconv_ops.h"
#include "runtime/kernels/qconv_winograd.h"

namespace qdq {
namespace avx2 {

// The most tiles a group (qconv_winograd_group_tiles); every group size
// is whole tile_words tiles.
constexpr int kWinogradTiles = 12;
static_assert(kWinogradTiles % kWordTileRows == 0);

enum class WinogradBuffer { kTransformed, kProducts, kZeroPixel };

// B^T's rows applied to four values.
struct Transformed4 {
  __m256i v0, v1, v2, v3;
};
inline QDQ_AVX2_TARGET Transformed4 winograd_b(__m256i d0, __m256i d1, __m256i d2, __m256i d3) {
  return {_mm256_sub_epi16(d0, d2), _mm256_add_epi16(d1, d2), _mm256_sub_epi16(d2, d1),
          _mm256_sub_epi16(d1, d3)};
}

// Pixel `pixel`'s 16 channels from `channel` on, flipped, sign-extended.
inline QDQ_AVX2_TARGET __m256i winograd_words(const uint8_t* pixel, int64_t channel, __m128i flip) {
  return _mm256_cvtepi8_epi16(
      _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(pixel + channel)), flip));
}

// One patch row's four pixels (16 channels from `channel` on), transformed
// along the row.
inline QDQ_AVX2_TARGET Transformed4 winograd_input_row(const uint8_t* const* pixels,
                                                       int64_t channel, __m128i flip) {
  return winograd_b(
      winograd_words(pixels[0], channel, flip), winograd_words(pixels[1], channel, flip),
      winograd_words(pixels[2], channel, flip), winograd_words(pixels[3], channel, flip));
}

inline QDQ_AVX2_TARGET void store_words(int16_t* at, __m256i words) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(at), words);
}

// V = B^T d B of one tile's 4 x 4 pixels (`pixels`, row by row, `c`
// channels each, flipped as loaded where `flip`): position i * 4 + j's words
// of channel k at v + (i * 4 + j) * pitch + k. The rows in the order that
// keeps three of them live, not four.
inline QDQ_AVX2_TARGET void winograd_input_tile(const uint8_t* const* pixels, int64_t c, bool flip,
                                                int16_t* v, int64_t pitch) {
  const __m128i sign = _mm_set1_epi8(flip ? static_cast<char>(0x80) : 0);
  for (int64_t channel = 0; channel < c; channel += 16) {
    int16_t* const at = v + channel;
    const Transformed4 r1 = winograd_input_row(pixels + 4, channel, sign);
    const Transformed4 r2 = winograd_input_row(pixels + 8, channel, sign);
    store_words(at + 4 * pitch, _mm256_add_epi16(r1.v0, r2.v0));
    store_words(at + 5 * pitch, _mm256_add_epi16(r1.v1, r2.v1));
    store_words(at + 6 * pitch, _mm256_add_epi16(r1.v2, r2.v2));
    store_words(at + 7 * pitch, _mm256_add_epi16(r1.v3, r2.v3));
    store_words(at + 8 * pitch, _mm256_sub_epi16(r2.v0, r1.v0));
    store_words(at + 9 * pitch, _mm256_sub_epi16(r2.v1, r1.v1));
    store_words(at + 10 * pitch, _mm256_sub_epi16(r2.v2, r1.v2));
    store_words(at + 11 * pitch, _mm256_sub_epi16(r2.v3, r1.v3));
    const Transformed4 r0 = winograd_input_row(pixels, channel, sign);
    store_words(at + 0 * pitch, _mm256_sub_epi16(r0.v0, r2.v0));
    store_words(at + 1 * pitch, _mm256_sub_epi16(r0.v1, r2.v1));
    store_words(at + 2 * pitch, _mm256_sub_epi16(r0.v2, r2.v2));
    store_words(at + 3 * pitch, _mm256_sub_epi16(r0.v3, r2.v3));
    const Transformed4 r3 = winograd_input_row(pixels + 12, channel, sign);
    store_words(at + 12 * pitch, _mm256_sub_epi16(r1.v0, r3.v0));
    store_words(at + 13 * pitch, _mm256_sub_epi16(r1.v1, r3.v1));
    store_words(at + 14 * pitch, _mm256_sub_epi16(r1.v2, r3.v2));
    store_words(at + 15 * pitch, _mm256_sub_epi16(r1.v3, r3.v3));
  }
}

// F(4, 3)'s B^T (qconv_winograd.h) along six values, in 16 bits: |x| <=
// 128 gives |v| <= 1280.
inline QDQ_AVX2_TARGET void winograd_b4(const __m256i* x, __m256i* v) {
  const __m256i t = _mm256_sub_epi16(x[4], x[2]);
  const __m256i p = _mm256_sub_epi16(x[4], _mm256_slli_epi16(x[2], 2));
  const __m256i q = _mm256_sub_epi16(_mm256_slli_epi16(x[1], 2), x[3]);
  const __m256i d = _mm256_sub_epi16(x[1], x[3]);
  const __m256i s = _mm256_add_epi16(d, d);
  v[0] = _mm256_add_epi16(_mm256_slli_epi16(_mm256_sub_epi16(x[0], x[2]), 2), t);
  v[1] = _mm256_sub_epi16(p, q);
  v[2] = _mm256_add_epi16(p, q);
  v[3] = _mm256_sub_epi16(t, s);
  v[4] = _mm256_add_epi16(t, s);
  v[5] = _mm256_add_epi16(_mm256_slli_epi16(d, 2), _mm256_sub_epi16(x[5], x[3]));
}

// V = B^T d B of one F(2x4, 3x3) tile's 4 x 6 pixels, as winograd_input_tile
// stores F(2x2, 3x3)'s (position i * 6 + j): each patch row along its
// pixels first (F(4, 3)'s B^T, into `rows`), then F(2, 3)'s B^T down the
// columns.
inline QDQ_AVX2_TARGET void winograd_f2x4_input_tile(const uint8_t* const* pixels, int64_t c,
                                                     bool flip, int16_t* v, int64_t pitch) {
  const __m128i sign = _mm_set1_epi8(flip ? static_cast<char>(0x80) : 0);
  __m256i rows[4][6];
  for (int64_t channel = 0; channel < c; channel += 16) {
    int16_t* const at = v + channel;
    for (int i = 0; i < 4; ++i) {
      __m256i x[6];
      for (int j = 0; j < 6; ++j) x[j] = winograd_words(pixels[i * 6 + j], channel, sign);
      winograd_b4(x, rows[i]);
    }
    for (int j = 0; j < 6; ++j) {
      store_words(at + j * pitch, _mm256_sub_epi16(rows[0][j], rows[2][j]));
      store_words(at + (6 + j) * pitch, _mm256_add_epi16(rows[1][j], rows[2][j]));
      store_words(at + (12 + j) * pitch, _mm256_sub_epi16(rows[2][j], rows[1][j]));
      store_words(at + (18 + j) * pitch, _mm256_sub_epi16(rows[1][j], rows[3][j]));
    }
  }
}

// F(2, 3)'s A^T, [1 1 1 0; 0 1 -1 -1], over four values.
struct WinogradPair {
  __m256i first, second;
};
inline QDQ_AVX2_TARGET WinogradPair winograd_a(const __m256i* v) {
  return {_mm256_add_epi32(_mm256_add_epi32(v[0], v[1]), v[2]),
          _mm256_sub_epi32(_mm256_sub_epi32(v[1], v[2]), v[3])};
}

// F(4, 3)'s A^T over six values (int32, wrapping).
inline QDQ_AVX2_TARGET void winograd_a4(const __m256i* m, __m256i* y) {
  const __m256i a = _mm256_add_epi32(m[1], m[2]), b = _mm256_sub_epi32(m[1], m[2]);
  const __m256i c = _mm256_add_epi32(m[3], m[4]), d = _mm256_sub_epi32(m[3], m[4]);
  y[0] = _mm256_add_epi32(_mm256_add_epi32(m[0], a), c);
  y[1] = _mm256_add_epi32(b, _mm256_slli_epi32(d, 1));
  y[2] = _mm256_add_epi32(a, _mm256_slli_epi32(c, 2));
  y[3] = _mm256_add_epi32(_mm256_add_epi32(b, _mm256_slli_epi32(d, 3)), m[5]);
}

// S from Y (qconv_winograd.h): Y / 4 for F(2x2, 3x3) by a shift, Y / 48 for
// F(2x4, 3x3) as (Y >> 4) times 3's inverse modulo 2^32 (both exact, Y being
// a multiple).
template <WinogradForm Form>
inline QDQ_AVX2_TARGET __m256i winograd_sums(__m256i y) {
  if constexpr (Form == WinogradForm::kF2x2) return _mm256_srai_epi32(y, 2);
  return _mm256_mullo_epi32(_mm256_srai_epi32(y, 4),
                            _mm256_set1_epi32(static_cast<int32_t>(0xAAAAAAABu)));
}

// Y = A^T M A of one tile's products for its 16 channels, the form's
// positions: `m` at position 0's, positions `pitch` apart; the 2 rows of
// outputs to y[dy * row_pitch + dx * 16], as S (winograd_sums).
template <WinogradForm Form>
inline QDQ_AVX2_TARGET void winograd_output_tile(const int32_t* m, int64_t pitch, int32_t* y,
                                                 int64_t row_pitch) {
  constexpr WinogradShape kShape = winograd_shape(Form);
  constexpr int rows = kShape.rows, cols = kShape.cols, out_cols = kShape.out_cols;
  for (int half = 0; half < 16; half += 8) {
    __m256i top[cols], bottom[cols];  // A^T's two rows over the positions' rows
    for (int j = 0; j < cols; ++j) {
      __m256i column[rows];
      for (int i = 0; i < rows; ++i) column[i] = load8(m + (i * cols + j) * pitch + half);
      const WinogradPair pair = winograd_a(column);
      top[j] = pair.first;
      bottom[j] = pair.second;
    }
    for (int dy = 0; dy < 2; ++dy) {
      __m256i outputs[out_cols];
      if constexpr (cols == 6) {
        winograd_a4(dy == 0 ? top : bottom, outputs);
      } else {
        const WinogradPair pair = winograd_a(dy == 0 ? top : bottom);
        outputs[0] = pair.first;
        outputs[1] = pair.second;
      }
      int32_t* const at = y + dy * row_pitch + half;
      for (int dx = 0; dx < out_cols; ++dx)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(at + dx * kQConvBlock),
                            winograd_sums<Form>(outputs[dx]));
    }
  }
}

// The layer in form `Form`, a template parameter: the patch loops unroll
// (ResNet-20's stride-1 layers ran 4-11 % slower with the side read at run
// time).
template <WinogradForm Form, typename Q, typename R>
void winograd_layer(const QConvPacked& p, const uint8_t* x, const R* residual, Q* out) {
  const QConvParams& q = p.params;
  const SpatialGeometry& g = q.shape.geometry;
  const int64_t c = q.shape.in_channels, m = q.shape.out_channels;
  const int64_t x_pitch = p.x_pitch, y_pitch = p.y_pitch;  // a group layer's: the tensors'
  const int64_t height = q.height(), width = q.width();
  const int64_t out_height = q.out_height(), out_width = q.out_width();
  constexpr WinogradShape kShape = winograd_shape(Form);
  constexpr int patch_rows = kShape.rows, patch_cols = kShape.cols;
  constexpr int positions = patch_rows * patch_cols, out_cols = kShape.out_cols;
  const int64_t tile_rows = (out_height + 1) / 2;
  const int64_t tile_cols = (out_width + out_cols - 1) / out_cols;
  const int64_t image_tiles = tile_rows * tile_cols, tiles = q.shape.batch * image_tiles;
  const int64_t T = qconv_winograd_group_tiles(q, Form, tiles);
  // Where every thread has a group's worth of tiles, each takes an even
  // share of them, in groups of T (a share of at most kWinogradTiles one
  // group): groups of T over the whole layer gave one of two threads 18 of
  // ResNet-20's 32 tiles at 16x16 and batch 1, 68 of 128 at 32x32. Fewer
  // tiles go in groups of even sizes (at most T), each group's blocks split
  // (qconv_work_splits), the threads taking the items group by group: 16
  // tiles in groups of 12 would have given one of two threads the group of
  // 12, the other the group of 4. Two threads, batch 1: ResNet-20
  // 0.94-0.95x the time, CIFAR ResNet-32 0.95x, ResNet-18 0.97x (its 16x16
  // layers 0.88-0.94x), ResNet-50 0.98-1.00x (its 14x14 3x3 layers
  // 0.87-0.91x); batch 32: ResNet-20 and ResNet-18 0.97-1.00x.
  const int64_t threads = team_threads();
  const bool tile_shares = tiles >= threads * T;
  const int64_t share = (tiles + threads - 1) / threads;  // a thread's most
  const int64_t group_tiles = tile_shares && share <= kWinogradTiles ? share : T;
  const int64_t groups = (tiles + T - 1) / T;  // without tile shares, of even sizes
  const int64_t splits = tile_shares ? 1 : qconv_work_splits(groups, p.blocks);
  const int64_t pitch = group_tiles * c;         // V's words from one position to the next
  std::array<int64_t, positions> patch_offsets;  // of a patch's pixels, from its first one's
  for (int i = 0; i < patch_rows; ++i)
    for (int j = 0; j < patch_cols; ++j)
      patch_offsets[i * patch_cols + j] = (i * width + j) * x_pitch;
  // The threads take tiles in whole groups, or the groups' splits. A tile's
  // work counted as the direct conv's.
  const int64_t tile_work = 2 * out_cols * 9 * c * m;
  const int64_t chunk = tile_shares
                            ? (steal_chunk(tile_work) + group_tiles - 1) / group_tiles * group_tiles
                            : steal_chunk(tile_work * tiles / groups / splits);
  StealingShares shares(tile_shares ? tiles : groups * splits, chunk);
  parallel_region([&](int thread, int region_threads) {
    int16_t* const v = thread_buffer<int16_t, WinogradBuffer::kTransformed>(
        static_cast<size_t>(positions * pitch));
    int32_t* const products = thread_buffer<int32_t, WinogradBuffer::kProducts>(
        static_cast<size_t>(positions * group_tiles * 16));
    uint8_t* const zero =
        thread_buffer<uint8_t, WinogradBuffer::kZeroPixel>(static_cast<size_t>(c));
    std::memset(zero, static_cast<uint8_t>(q.x_zero), static_cast<size_t>(c));
    // [dy][out_cols T pixels][16]
    alignas(32) int32_t sums[2 * out_cols * kWinogradTiles * kQConvBlock];
    TileRows a;
    a.segments = 1;
    a.quads = c / 2;
    a.stride = 2 * c;
    // Tiles [first, first + count) into V. A patch inside the image takes
    // its pixels at fixed offsets from its first one, the tile's place
    // stepped from one tile to the next. Each pixel bounds-checked and its
    // place multiplied out, with three divisions a tile, kept this function's
    // own time at 10 % of ResNet-20's (batch 32, one thread, `perf`; 7 % so):
    // its 16-64 channels leave the transforms little else to do. Its Winograd
    // layers 0.955x the time against its direct ones (the 16-channel ones
    // 0.91-0.93x), 0.98x at two threads and at batch 1 (ResNet-18: 0.97x).
    const auto transform = [&](int64_t first, int64_t count) {
      int64_t n = first / image_tiles, tile_row = first % image_tiles / tile_cols;
      int64_t tile_col = first % tile_cols;
      for (int64_t t = 0; t < count; ++t) {
        const uint8_t* pixels[positions];
        const int64_t ih0 = tile_row * 2 - g.pad_begin[1];
        const int64_t iw0 = tile_col * out_cols - g.pad_begin[2];
        // The patch's first pixel's place, outside the image where padded.
        const int64_t origin = ((n * height + ih0) * width + iw0) * x_pitch;
        if (ih0 >= 0 && ih0 + patch_rows <= height && iw0 >= 0 && iw0 + patch_cols <= width) {
          for (int k = 0; k < positions; ++k) pixels[k] = x + (origin + patch_offsets[k]);
        } else {
          for (int i = 0; i < patch_rows; ++i)
            for (int j = 0; j < patch_cols; ++j) {
              const int64_t ih = ih0 + i, iw = iw0 + j;
              const int k = i * patch_cols + j;
              pixels[k] = ih >= 0 && ih < height && iw >= 0 && iw < width
                              ? x + (origin + patch_offsets[k])
                              : zero;  // padding
            }
        }
        if (++tile_col == tile_cols) {
          tile_col = 0;
          if (++tile_row == tile_rows) tile_row = 0, ++n;
        }
        if constexpr (Form == WinogradForm::kF2x4)
          winograd_f2x4_input_tile(pixels, c, p.flip, v + t * c, pitch);
        else
          winograd_input_tile(pixels, c, p.flip, v + t * c, pitch);
      }
    };
    // Blocks [first_block, end_block) of the tiles V holds, from `first` on.
    const auto multiply = [&](int64_t first, int64_t count, int64_t first_block,
                              int64_t end_block) {
      for (int64_t block = first_block; block < end_block; ++block) {
        for (int64_t position = 0; position < positions; ++position) {
          const int16_t* w = p.winograd_weights.data() + (block * positions + position) * c * 16;
          for (int64_t row = 0; row < count; row += kWordTileRows) {
            a.segment[0] = reinterpret_cast<const uint8_t*>(v + position * pitch + row * c);
            const int64_t rows = std::min<int64_t>(kWordTileRows, count - row);
            tile_words_by_rows(std::make_integer_sequence<int, kWordTileRows>())[rows - 1](
                a, w, products + (position * group_tiles + row) * kQConvBlock);
          }
        }
        const int64_t channel = block * kQConvBlock;
        const int64_t channels = std::min<int64_t>(kQConvBlock, m - channel);
        // Each run of the group's tiles within one tile row: two output rows
        // of consecutive pixels, one epilogue each.
        for (int64_t t = 0; t < count;) {
          const int64_t tile = first + t, n = tile / image_tiles;
          const int64_t oh = tile % image_tiles / tile_cols * 2;
          const int64_t ow = tile % tile_cols * out_cols;
          const int64_t run = std::min(count - t, tile_cols - ow / out_cols);
          for (int64_t k = 0; k < run; ++k)
            winograd_output_tile<Form>(products + (t + k) * kQConvBlock, group_tiles * kQConvBlock,
                                       sums + out_cols * k * kQConvBlock,
                                       out_cols * group_tiles * kQConvBlock);
          const auto pixels = static_cast<int>(std::min(out_cols * run, out_width - ow));
          for (int64_t dy = 0; dy < 2 && oh + dy < out_height; ++dy) {
            const int64_t at = ((n * out_height + oh + dy) * out_width + ow) * y_pitch + channel;
            Avx2Ops::epilogue<Q, R>(
                p, EpilogueTile<Q, R>{sums + dy * out_cols * group_tiles * kQConvBlock, pixels, 1,
                                      channel, channels, y_pitch,
                                      residual ? residual + at : nullptr, out + at});
            if constexpr (!std::is_same_v<Q, float>)
              for (int64_t r = 0; r < pixels; ++r)
                qconv_apply_table(q, out + at + r * y_pitch, channels);
          }
          t += run;
        }
      }
    };
    if (tile_shares) {
      shares.take(thread, region_threads, [&](int64_t begin, int64_t end) {
        for (int64_t first = begin; first < end; first += group_tiles) {
          const int64_t count = std::min(group_tiles, end - first);
          transform(first, count);
          multiply(first, count, 0, p.blocks);
        }
      });
      return;
    }
    int64_t transformed = -1;  // the group whose input v holds
    shares.take(thread, region_threads, [&](int64_t begin, int64_t end) {
      for (int64_t work = begin; work < end; ++work) {
        const int64_t group = work / splits, split = work % splits;
        const int64_t first = group * tiles / groups, count = (group + 1) * tiles / groups - first;
        if (group != transformed) transform(first, count), transformed = group;
        multiply(first, count, split * p.blocks / splits, (split + 1) * p.blocks / splits);
      }
    });
  });
}

template <typename Q, typename R>
void Avx2Ops::winograd(const QConvPacked& p, const uint8_t* x, const R* residual, Q* out) {
  switch (p.winograd) {
    case WinogradForm::kF2x4:
      return winograd_layer<WinogradForm::kF2x4>(p, x, residual, out);
    default:
      return winograd_layer<WinogradForm::kF2x2>(p, x, residual, out);
  }
}

}  // namespace avx2
}  // namespace qdq
