// FP32 Conv and ai.qdq.Conv (Conv, its block's residual added, Relu/Clip) on
// AVX2+FMA, as a GEMM per image and group: output channels x output pixels =
// weights [M, C*kernel] x windows [C*kernel, pixels]. The weights are packed
// once into panels of 6 output channels, k-major; a 6 x 16 micro-tile keeps
// its sums in 12 registers over a block of depth, starts from the bias and
// adds the residual and clamps as it stores. The windows (WindowSource): a
// 1x1 conv's input itself, a stride-1 conv's padded input shifted per tap,
// else gathered per chunk (im2col). Depthwise convs sum their taps from each
// channel's padded plane, or on tiny maps eight channels a vector. Float
// sums in another order than the reference's direct loop: the results agree
// to rounding (tests/runtime/kernels/conv_fp32_kernel_test.cc bounds it), as
// any two FP32 convolutions do.
//
// The multiplying tiles are a level's (conv.h): AVX2's here, 6 x 16; the
// driver is shared.
//
// ISA code is compiled through target attributes, not per-file flags, so that
// no AVX2 copy of a shared inline function is left for the linker to pick
// for CPUs without AVX2.
#include "runtime/kernels/avx2/conv.h"

#include <immintrin.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "runtime/kernels/registry.h"
#include "runtime/reference/spatial.h"
#include "support/parallel.h"

#define QDQ_FP32_TARGET __attribute__((target("avx2,fma")))

namespace qdq {
namespace fp32conv {
namespace {

// Columns of the 6 x 16 micro-tile and of a depthwise strip: two ymm.
constexpr int64_t kAvx2StripColumns = 16;
// Depth a tile sums before its sums go back to memory: 16 KB of a strip's
// windows and 6 KB of a panel's weights.
constexpr int64_t kDepthBlock = 256;
// A chunk's gathered windows, or its output sums (kShifted): at most this
// many floats (128 KB, in L2).
constexpr int64_t kChunkFloats = 32 * 1024;
constexpr int64_t kLineFloats = 64 / sizeof(float);  // a cache line's

// The weights of every group in panels of `rows` output channels (the
// micro-tile's), each panel [depth][rows] (one broadcast a row and depth
// step), a group's last panel padded with zero rows.
struct PackedWeights {
  std::vector<float> panels;
  int64_t rows = 0, depth = 0, panels_per_group = 0;
  const float* source = nullptr;  // the constant they were packed from
};

void pack_weights(const ConvShape& s, const float* w, int64_t rows, PackedWeights& p) {
  const int64_t mg = s.out_channels / s.group;
  p.rows = rows;
  p.depth = s.in_channels / s.group * s.geometry.kernel_size();
  p.panels_per_group = (mg + rows - 1) / rows;
  p.panels.assign(static_cast<size_t>(s.group * p.panels_per_group * p.depth * rows), 0.0f);
  for (int64_t m = 0; m < s.out_channels; ++m) {
    const int64_t grp = m / mg, row = m % mg;
    float* panel = p.panels.data() + ((grp * p.panels_per_group + row / rows) * p.depth) * rows;
    for (int64_t k = 0; k < p.depth; ++k) panel[k * rows + row % rows] = w[m * p.depth + k];
  }
}

// The packed weights: kept in the node's state when they are a constant
// (packed on the first run, again where another input shape takes another
// tile), else packed into `local` on every run.
const PackedWeights& packed_weights(OpContext& ctx, const ConvShape& s, const Tensor& w,
                                    int64_t rows, PackedWeights& local) {
  const Value* weights = ctx.node().input(1);
  if (!ctx.state() || !weights || !weights->is_constant()) {
    pack_weights(s, w.data<float>(), rows, local);
    return local;
  }
  std::shared_ptr<void>& slot = *ctx.state();
  auto packed = std::static_pointer_cast<PackedWeights>(slot);
  if (!packed || packed->source != w.data<float>() || packed->rows != rows) {
    packed = std::make_shared<PackedWeights>();
    pack_weights(s, w.data<float>(), rows, *packed);
    packed->source = w.data<float>();
    slot = packed;
  }
  return *packed;
}

bool reads_input_directly(const SpatialGeometry& g) {
  for (int d = 0; d < 3; ++d)
    if (g.kernel[d] != 1 || g.stride[d] != 1 || g.pad_begin[d] != 0 || g.pad_end[d] != 0)
      return false;
  return true;
}

// 1-D or 2-D maps (the first of the three spatial dims unused).
bool planar(const SpatialGeometry& g) {
  return g.in[0] == 1 && g.kernel[0] == 1 && g.pad_begin[0] == 0 && g.pad_end[0] == 0;
}

// Where tap (k01, k2) of a window reads in a padded plane (2-D or 1-D maps:
// k01 is the kernel row), from the window's first pixel.
int64_t padded_tap_offset(const SpatialGeometry& g, int64_t padded_width, int64_t k01, int64_t k2) {
  return k01 * g.dilation[1] * padded_width + k2 * g.dilation[2];
}

// Every tap's offset from a window's first pixel in a padded plane, times
// `step` (the floats a padded pixel takes): this thread's buffer, read by
// the layer's threads.
const int64_t* padded_tap_offsets(const SpatialGeometry& g, int64_t padded_width, int64_t step) {
  enum class BufferUse { kOffsets };
  const int64_t taps = g.kernel_size();
  int64_t* offsets = thread_buffer<int64_t, BufferUse::kOffsets>(static_cast<size_t>(taps));
  for (int64_t t = 0; t < taps; ++t)
    offsets[t] = step * padded_tap_offset(g, padded_width, t / g.kernel[2], t % g.kernel[2]);
  return offsets;
}

// How the GEMM reads its windows matrix [depth, columns]: its row k starts
// rows[k] floats after a chunk's first column.
enum class WindowSource {
  // A 1x1 stride-1 unpadded conv: the input itself, a plane a row.
  kInput,
  // Stride 1 over 1-D or 2-D maps: the input copied once with its padding;
  // row (c, tap) is channel c's padded plane shifted by the tap. The columns
  // run over the padded rows: a row's last kernel-width - 1 columns are
  // computed and dropped (ResNet-20's 8x8 maps: 10 columns for 8), nothing
  // is gathered.
  kShifted,
  // Otherwise (strides, 3-D): each chunk's windows gathered (im2col), rows a
  // chunk's pitch apart.
  kGathered,
};

struct WindowLayout {
  WindowSource source = WindowSource::kGathered;
  int64_t columns = 0;        // an image's: output pixels, or its padded rows' (kShifted)
  int64_t strip = 0;          // a micro-tile's columns (TileShape::columns), or a depthwise strip's
  int64_t chunk_columns = 0;  // a work item's: whole strips
  int64_t padded_height = 0, padded_width = 0;  // kShifted
  std::vector<int64_t> rows;
};

WindowSource window_source(const SpatialGeometry& g) {
  return reads_input_directly(g)                             ? WindowSource::kInput
         : planar(g) && g.stride[1] == 1 && g.stride[2] == 1 ? WindowSource::kShifted
                                                             : WindowSource::kGathered;
}

// An image's columns: its output pixels, or its padded rows' (kShifted).
int64_t window_columns(const SpatialGeometry& g, WindowSource source) {
  return source == WindowSource::kShifted ? g.out[1] * (g.in[2] + g.pad_begin[2] + g.pad_end[2])
                                          : g.out_size();
}

void plan_windows(const ConvShape& s, int64_t depth, int64_t strip, WindowLayout& l) {
  const SpatialGeometry& g = s.geometry;
  const int64_t mg = s.out_channels / s.group;
  l.source = window_source(g);
  l.padded_height = g.in[1] + g.pad_begin[1] + g.pad_end[1];
  l.padded_width = g.in[2] + g.pad_begin[2] + g.pad_end[2];
  l.columns = window_columns(g, l.source);
  // kShifted: a chunk's output sums in a thread's buffer; otherwise its
  // gathered windows (kInput: the same share of the input read).
  const int64_t per_column = l.source == WindowSource::kShifted ? mg : depth;
  l.strip = strip;
  const int64_t strips = (l.columns + strip - 1) / strip;
  l.chunk_columns = std::clamp<int64_t>(kChunkFloats / (per_column * strip), 1, strips) * strip;
  l.rows.resize(static_cast<size_t>(depth));
  // Row k = (c, k0, k1, k2) in the weights' order; nested loops, not
  // divisions: this runs for every layer on every run.
  const int64_t plane = l.padded_height * l.padded_width;
  int64_t k = 0;
  for (int64_t c = 0; c < depth / g.kernel_size(); ++c)
    for (int64_t k01 = 0; k01 < g.kernel[0] * g.kernel[1]; ++k01)  // kShifted: k0 is 0
      for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2, ++k)
        l.rows[static_cast<size_t>(k)] =
            l.source == WindowSource::kInput ? k * g.in_size()
            : l.source == WindowSource::kShifted
                ? c * plane + padded_tap_offset(g, l.padded_width, k01, k2)
                : k * l.chunk_columns;
}

// n floats from src to dst, or zeros (src nullptr): vectors of 8, the last
// one overlapping the one before, or of 4, or single floats below that. The
// runs are short (a plane's 8-float rows, a padding column), too short for a
// call: loops of single floats would become memset and memmove calls, and
// AMD's masked stores (vmaskmovps) are slow.
QDQ_FP32_TARGET inline void copy_run(const float* src, int64_t n, float* dst) {
  if (n >= 8) {
    for (int64_t i = 0;; i += 8) {
      if (i > n - 8) i = n - 8;
      _mm256_storeu_ps(dst + i, src ? _mm256_loadu_ps(src + i) : _mm256_setzero_ps());
      if (i == n - 8) return;
    }
  }
  if (n >= 4) {
    _mm_storeu_ps(dst, src ? _mm_loadu_ps(src) : _mm_setzero_ps());
    _mm_storeu_ps(dst + n - 4, src ? _mm_loadu_ps(src + n - 4) : _mm_setzero_ps());
    return;
  }
  if (n > 0) dst[0] = src ? src[0] : 0.0f;
  if (n > 1) dst[1] = src ? src[1] : 0.0f;
  if (n > 2) dst[2] = src ? src[2] : 0.0f;
}

// Rows (c, k0, k1, k2) x columns (output pixels p0 .. p1) of one group of one
// image, rows `pitch` apart; taps in the padding are 0. Each output row's run
// is zeros, the columns whose tap lands in the input row (one copy at stride
// 1), zeros. Only strided and 3-D convs come here: a gather costs as much as
// the GEMM on narrow layers (ResNet-20's 3x3: 9 gathered values per
// multiply-add row), which is why stride-1 convs read shifted windows.
QDQ_FP32_TARGET void gather_windows(const ConvShape& s, const float* x, int64_t p0, int64_t p1,
                                    int64_t pitch, float* cols) {
  const SpatialGeometry& g = s.geometry;
  const int64_t rows = s.in_channels / s.group * g.kernel_size();
  // The chunk's first output pixel; each run then starts a row.
  const int64_t first2 = p0 % g.out[2], first1 = p0 / g.out[2] % g.out[1],
                first0 = p0 / g.out[2] / g.out[1];
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t k2 = r % g.kernel[2], k1 = (r / g.kernel[2]) % g.kernel[1],
                  k0 = (r / (g.kernel[2] * g.kernel[1])) % g.kernel[0], c = r / g.kernel_size();
    const float* plane = x + c * g.in_size();
    const ColumnRange inside = tap_columns(g, k2);
    const int64_t offset = k2 * g.dilation[2] - g.pad_begin[2];
    float* out = cols + r * pitch;
    int64_t o0 = first0, o1 = first1, o2 = first2;
    for (int64_t p = p0; p < p1;) {  // one output row's run at a time
      const int64_t run = std::min(g.out[2] - o2, p1 - p);
      const int64_t i0 = o0 * g.stride[0] - g.pad_begin[0] + k0 * g.dilation[0];
      const int64_t i1 = o1 * g.stride[1] - g.pad_begin[1] + k1 * g.dilation[1];
      const bool row_inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1];
      // Output columns [begin, end) of this run read the input row.
      const int64_t begin = row_inside ? std::clamp(inside.begin, o2, o2 + run) : o2 + run;
      const int64_t end = row_inside ? std::clamp(inside.end, begin, o2 + run) : o2 + run;
      const float* row = row_inside ? plane + (i0 * g.in[1] + i1) * g.in[2] + offset : plane;
      copy_run(nullptr, begin - o2, out);
      out += begin - o2;
      if (g.stride[2] == 1) {
        if (end > begin) copy_run(row + begin, end - begin, out);
        out += end - begin;
      } else {
        for (int64_t o = begin; o < end; ++o) *out++ = row[o * g.stride[2]];
      }
      copy_run(nullptr, o2 + run - end, out);
      out += o2 + run - end;
      p += run;
      o2 = 0;
      if (++o1 == g.out[1]) o1 = 0, ++o0;
    }
  }
}

// ConvActivation::apply's ternaries, 8 lanes: vmaxps(a, b) is a > b ? a : b.
QDQ_FP32_TARGET inline __m256 clamp8(__m256 v, const ConvActivation& activation) {
  const __m256 lo = _mm256_set1_ps(activation.lo), hi = _mm256_set1_ps(activation.hi);
  v = activation.relu ? _mm256_max_ps(v, lo) : _mm256_max_ps(lo, v);
  return _mm256_min_ps(hi, v);
}

// out = the epilogue of sums, for n floats.
QDQ_FP32_TARGET void finish_run(const float* sums, int64_t n, const Epilogue& e, float* out) {
  if (!e.residual && !e.bounded) return copy_run(sums, n, out);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(sums + i);
    if (e.residual) v = _mm256_add_ps(v, _mm256_loadu_ps(e.residual + i));
    _mm256_storeu_ps(out + i, e.bounded ? clamp8(v, e.activation) : v);
  }
  for (; i < n; ++i) {
    const float v = e.residual ? sums[i] + e.residual[i] : sums[i];
    out[i] = e.bounded ? e.activation.apply(v) : v;
  }
}

template <bool Full>
QDQ_FP32_TARGET __m256 load8(const float* p, __m256i mask) {
  return Full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

// TileShape::full and edge on AVX2: `Rows` output channels by `Vectors`
// ymm of columns, twelve sums in registers (6 x 16 and 4 x 24). Not Full:
// masked loads and stores (AMD's masked stores are slow: edge strips only).
template <int Rows, int Vectors, bool Full>
QDQ_FP32_TARGET void micro_tile(const float* a, const float* b, const int64_t* rows, int64_t depth,
                                const TileTarget& t, const Epilogue& e) {
  static_assert(Rows * Vectors == 12);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i mask[Vectors];
#pragma GCC unroll 3
  for (int v = 0; v < Vectors; ++v)
    mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(t.columns - 8 * v), lane);
  __m256 acc[Rows][Vectors];
#pragma GCC unroll 6
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < Vectors; ++v)
      acc[r][v] = r >= t.rows ? _mm256_setzero_ps()
                  : t.first   ? (t.bias ? _mm256_set1_ps(t.bias[r]) : _mm256_setzero_ps())
                              : load8<Full>(t.out + r * t.pitch + 8 * v, mask[v]);
#pragma GCC unroll 2
  for (int64_t k = 0; k < depth; ++k, a += Rows) {
    const float* row = b + rows[k];
    __m256 column[Vectors];
#pragma GCC unroll 3
    for (int v = 0; v < Vectors; ++v) column[v] = load8<Full>(row + 8 * v, mask[v]);
#pragma GCC unroll 6
    for (int r = 0; r < Rows; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 3
      for (int v = 0; v < Vectors; ++v) acc[r][v] = _mm256_fmadd_ps(av, column[v], acc[r][v]);
    }
  }
  const bool clamp = t.last && e.bounded;
  const float* residual = t.last ? e.residual : nullptr;
#pragma GCC unroll 6
  for (int r = 0; r < Rows; ++r) {
    if (r >= t.rows) break;
#pragma GCC unroll 3
    for (int v = 0; v < Vectors; ++v) {
      __m256 sum = acc[r][v];
      if (residual) sum = _mm256_add_ps(sum, load8<Full>(residual + r * t.pitch + 8 * v, mask[v]));
      if (clamp) sum = clamp8(sum, e.activation);
      float* out = t.out + r * t.pitch + 8 * v;
      if (Full)
        _mm256_storeu_ps(out, sum);
      else
        _mm256_maskstore_ps(out, mask[v], sum);
    }
  }
}

// One input plane with its padding, padded_height x padded_width.
QDQ_FP32_TARGET void pad_plane(const SpatialGeometry& g, const WindowLayout& l, const float* src,
                               float* dst) {
  for (int64_t h = 0; h < l.padded_height; ++h, dst += l.padded_width) {
    const int64_t ih = h - g.pad_begin[1];
    if (ih < 0 || ih >= g.in[1]) {
      copy_run(nullptr, l.padded_width, dst);
      continue;
    }
    copy_run(nullptr, g.pad_begin[2], dst);
    copy_run(src + ih * g.in[2], g.in[2], dst + g.pad_begin[2]);
    copy_run(nullptr, g.pad_end[2], dst + g.pad_begin[2] + g.in[2]);
  }
}

// Floats a strip and the widest tap read past a padded plane (they only feed
// dropped columns): zeros after the last one.
int64_t plane_slack(const SpatialGeometry& g, const WindowLayout& l) {
  return l.strip + (g.kernel[2] - 1) * g.dilation[2];
}

// Every image's input planes with their padding, and the slack after them.
void pad_input(const ConvShape& s, const WindowLayout& l, const float* x, std::vector<float>& out) {
  const SpatialGeometry& g = s.geometry;
  const int64_t planes = s.batch * s.in_channels, plane = l.padded_height * l.padded_width;
  out.resize(static_cast<size_t>(planes * plane + plane_slack(g, l)));
  std::fill(out.end() - plane_slack(g, l), out.end(), 0.0f);
  // A fork costs more than copying a batch-1 layer's few planes.
  parallel_for(planes, planes * plane > 64 * 1024,
               [&](int64_t i) { pad_plane(g, l, x + i * g.in_size(), out.data() + i * plane); });
}

// Tiles::depthwise_sums on AVX2: strips of kAvx2StripColumns, two ymm.
QDQ_FP32_TARGET void depthwise_sums(const float* at, int64_t columns, const int64_t* offsets,
                                    int64_t taps, const float* w, float start, float* sums) {
  for (int64_t p = 0; p < columns; p += kAvx2StripColumns) {
    __m256 acc0 = _mm256_set1_ps(start), acc1 = acc0;
    for (int64_t t = 0; t < taps; ++t) {
      const __m256 wv = _mm256_broadcast_ss(w + t);
      acc0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at + p + offsets[t]), acc0);
      acc1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(at + p + offsets[t] + 8), acc1);
    }
    _mm256_storeu_ps(sums + p, acc0);
    _mm256_storeu_ps(sums + p + 8, acc1);
  }
}

// The first n of sums[0], sums[stride], sums[2 * stride], ... into
// sums[0 .. n): a strided depthwise row's outputs out of its stride-1 sums.
// Stride 2 (MobileNetV2's) by shuffles, eight at a time.
QDQ_FP32_TARGET void compact_strided(float* sums, int64_t n, int64_t stride) {
  int64_t i = 0;
  if (stride == 2)
    for (; i + 8 <= n; i += 8) {
      const __m256 a = _mm256_loadu_ps(sums + 2 * i), b = _mm256_loadu_ps(sums + 2 * i + 8);
      // Within 128-bit lanes a0 a2 b0 b2 | a4 a6 b4 b6, then the 64-bit
      // quarters in order. Writes only below what later steps read.
      const __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
      _mm256_storeu_ps(sums + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even),
                                                                        _MM_SHUFFLE(3, 1, 2, 0))));
    }
  for (; i < n; ++i) sums[i] = sums[i * stride];
}

// A depthwise conv (one input and one output channel per group) over 1-D or
// 2-D maps: per channel, its plane padded into this thread's buffer (in
// L1), depthwise_columns at a time summing every tap in registers (contiguous
// loads, the tap's offset apart), the output's columns copied out with the
// epilogue. At stride 1 the columns run over the padded rows (a row's last
// kernel-width - 1 dropped); strided, over each output row's source row at
// stride 1, every stride-th kept. A direct loop, tap by tap over the output
// rows, spent most of MobileNetV2's FP32 time re-reading and re-writing
// them. A thread zeroes its buffer once a layer and then copies only each
// plane's inside: the padding is the same zeros for every plane, and on
// small maps (MobileNetV2's 8x8 and 4x4, hundreds of planes a layer) writing
// it again was the larger part of a plane's time (so was picking a strided
// row's outputs one by one: 3-7x ONNX Runtime's time on those layers).
QDQ_FP32_TARGET void depthwise_padded(const Tiles& tiles, const ConvShape& s, const WindowLayout& l,
                                      const float* x, const float* w, const float* bias,
                                      const Epilogue& e, float* y) {
  enum class BufferUse { kPlane, kSums };
  const SpatialGeometry& g = s.geometry;
  const int64_t taps = g.kernel_size(), plane = l.padded_height * l.padded_width;
  const int64_t planes = s.batch * s.out_channels;
  const bool stride1 = g.stride[1] == 1 && g.stride[2] == 1;
  // Stride 1: the padded rows' columns; strided: an output row's source columns.
  const int64_t columns = stride1 ? l.columns : (g.out[2] - 1) * g.stride[2] + 1;
  const int64_t* offsets = padded_tap_offsets(g, l.padded_width, 1);
  const auto planes_from = [&](int64_t begin, int64_t end) QDQ_FP32_TARGET {
    float* padded =
        thread_buffer<float, BufferUse::kPlane>(static_cast<size_t>(plane + plane_slack(g, l)));
    copy_run(nullptr, plane + plane_slack(g, l), padded);
    float* inside = padded + g.pad_begin[1] * l.padded_width + g.pad_begin[2];
    float* sums = thread_buffer<float, BufferUse::kSums>(static_cast<size_t>(columns + l.strip));
    for (int64_t i = begin; i < end; ++i) {
      const int64_t c = i % s.out_channels;
      const float* src = x + i * g.in_size();
      for (int64_t ih = 0; ih < g.in[1]; ++ih)
        copy_run(src + ih * g.in[2], g.in[2], inside + ih * l.padded_width);
      const float* wc = w + c * taps;
      const float start = bias ? bias[c] : 0.0f;
      float* out = y + i * g.out_size();
      const Epilogue plane_epilogue = e.at(i * g.out_size());
      if (stride1) {
        tiles.depthwise_sums(padded, columns, offsets, taps, wc, start, sums);
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          finish_run(sums + oh * l.padded_width, g.out[2], plane_epilogue.at(oh * g.out[2]),
                     out + oh * g.out[2]);
        continue;
      }
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        tiles.depthwise_sums(padded + oh * g.stride[1] * l.padded_width, columns, offsets, taps, wc,
                             start, sums);
        compact_strided(sums, g.out[2], g.stride[2]);
        finish_run(sums, g.out[2], plane_epilogue.at(oh * g.out[2]), out + oh * g.out[2]);
      }
    }
  };
  parallel_ranges(planes, planes > 1, planes_from);
}

// Channels a vector holds in depthwise_lanes.
constexpr int64_t kLaneChannels = 8;

// Whether depthwise_lanes runs a depthwise layer: tiny maps (output planes
// of at most 32 floats, where a plane's own steps cost more than its taps),
// whole vectors of channels, no residual. MobileNetV2 FP32 (batch 8, one
// thread), its layers in lanes against depthwise_padded: 4x4 outputs
// 0.50-0.64x, 8x8 1.56x, 16x16 1.6-2.3x (gathering and dealing out each
// pixel, and 8 lanes where the strips fill 32).
bool depthwise_in_lanes(const ConvShape& s, const Epilogue& e) {
  return s.geometry.out_size() <= 32 && s.out_channels % kLaneChannels == 0 && !e.residual;
}

// A depthwise conv over small 1-D or 2-D maps, eight channels at a time, a
// channel a lane: the channels' planes gathered into padded pixels of eight
// floats (the padding zeroed once a layer), then each output pixel's taps
// one FMA for the eight, at any stride with no column computed for
// nothing, and the pixels dealt back to the planes. Each output sums the
// bias and its taps in depthwise_sums's order: the same floats. MobileNetV2's
// 8x8 and 4x4 layers had run 3-7x ONNX Runtime's time one plane at a time.
QDQ_FP32_TARGET void depthwise_lanes(const ConvShape& s, const WindowLayout& l, const float* x,
                                     const float* w, const float* bias, const Epilogue& e,
                                     float* y) {
  enum class BufferUse { kPixels, kSums, kWeights };
  const SpatialGeometry& g = s.geometry;
  const int64_t taps = g.kernel_size(), blocks = s.out_channels / kLaneChannels;
  const int64_t pixels = l.padded_height * l.padded_width;
  const int64_t* offsets = padded_tap_offsets(g, l.padded_width, kLaneChannels);
  // The weights as [block][tap][channel of the block], once a layer (this
  // thread's buffer, read by all): a tap's eight in one load.
  float* weights =
      thread_buffer<float, BufferUse::kWeights>(static_cast<size_t>(s.out_channels * taps));
  for (int64_t c = 0; c < s.out_channels; ++c)
    for (int64_t t = 0; t < taps; ++t)
      weights[(c / kLaneChannels * taps + t) * kLaneChannels + c % kLaneChannels] = w[c * taps + t];
  const __m256i lane_planes = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                 _mm256_set1_epi32(static_cast<int>(g.in_size())));
  const auto blocks_from = [&](int64_t begin, int64_t end) QDQ_FP32_TARGET {
    float* padded =
        thread_buffer<float, BufferUse::kPixels>(static_cast<size_t>(pixels * kLaneChannels));
    copy_run(nullptr, pixels * kLaneChannels, padded);
    float* sums =
        thread_buffer<float, BufferUse::kSums>(static_cast<size_t>(g.out_size() * kLaneChannels));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t c0 = item % blocks * kLaneChannels,
                    first_plane = item / blocks * s.out_channels + c0;
      const float* src = x + first_plane * g.in_size();
      for (int64_t ih = 0; ih < g.in[1]; ++ih)
        for (int64_t iw = 0; iw < g.in[2]; ++iw)
          _mm256_storeu_ps(padded + ((ih + g.pad_begin[1]) * l.padded_width + iw + g.pad_begin[2]) *
                                        kLaneChannels,
                           _mm256_i32gather_ps(src + ih * g.in[2] + iw, lane_planes, 4));
      const float* block_weights = weights + c0 * taps;
      const __m256 start = bias ? _mm256_loadu_ps(bias + c0) : _mm256_setzero_ps();
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          const float* at =
              padded + (oh * g.stride[1] * l.padded_width + ow * g.stride[2]) * kLaneChannels;
          __m256 acc = start;
          for (int64_t t = 0; t < taps; ++t)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(block_weights + t * kLaneChannels),
                                  _mm256_loadu_ps(at + offsets[t]), acc);
          _mm256_storeu_ps(sums + (oh * g.out[2] + ow) * kLaneChannels,
                           e.bounded ? clamp8(acc, e.activation) : acc);
        }
      for (int64_t c = 0; c < kLaneChannels; ++c) {
        float* out = y + (first_plane + c) * g.out_size();
        for (int64_t p = 0; p < g.out_size(); ++p) out[p] = sums[p * kLaneChannels + c];
      }
    }
  };
  parallel_ranges(s.batch * blocks, s.batch * blocks > 1, blocks_from);
}

// Columns c0 .. c1 of one group of one image, the group's panels q0 .. q1
// (from `panels` on).
struct ConvPart {
  int64_t c0, c1, q0, q1;
};

// A part's tiles, depth block by depth block, into `out` (channels `pitch`
// apart, the part's first panel's first, its first column's first), the
// epilogue's residual at the same offsets.
void multiply_part(const TileShape& shape, const PackedWeights& w, const float* panels,
                   const float* windows, const int64_t* rows, int64_t mg, const float* bias,
                   const ConvPart& part, float* out, int64_t pitch, const Epilogue& e) {
  const int64_t width = part.c1 - part.c0;
  for (int64_t k0 = 0; k0 < w.depth; k0 += kDepthBlock) {
    const int64_t depth = std::min(kDepthBlock, w.depth - k0);
    for (int64_t j = 0; j < width; j += shape.columns) {
      for (int64_t q = part.q0; q < part.q1; ++q) {
        const int64_t m0 = q * w.rows;
        const int64_t at = (m0 - part.q0 * w.rows) * pitch + j;
        const TileTarget t{out + at,
                           pitch,
                           static_cast<int>(std::min(w.rows, mg - m0)),
                           static_cast<int>(std::min(shape.columns, width - j)),
                           bias ? bias + m0 : nullptr,
                           k0 == 0,
                           k0 + depth == w.depth};
        const float* a = panels + (q * w.depth + k0) * w.rows;
        (t.columns == shape.columns ? shape.full : shape.edge)(a, windows + j, rows + k0, depth, t,
                                                               e.at(at));
      }
    }
  }
}

// One part of one group of one image (y and the epilogue's residual: the
// group's first output channel): the windows read in place, from the padded
// input, or gathered; kShifted's sums go to a thread's buffer, whole strips,
// and the output's columns come out of it through the epilogue.
void convolve_part(const TileShape& shape, const ConvShape& s, const PackedWeights& w,
                   const WindowLayout& l, const float* panels, const float* x, const float* bias,
                   float* y, const ConvPart& part, const Epilogue& e) {
  enum class BufferUse { kWindows, kSums };
  const SpatialGeometry& g = s.geometry;
  const int64_t mg = s.out_channels / s.group, pixels = g.out_size();
  const int64_t at = part.q0 * w.rows * pixels + part.c0;  // the part's first output
  if (l.source == WindowSource::kInput)
    return multiply_part(shape, w, panels, x + part.c0, l.rows.data(), mg, bias, part, y + at,
                         pixels, e.at(at));
  if (l.source == WindowSource::kGathered) {
    float* windows = thread_buffer<float, BufferUse::kWindows>(
        static_cast<size_t>(w.depth * l.chunk_columns + kLineFloats));
    // From a 64-byte boundary on: no load of a strip's row splits a cache line.
    windows += (-reinterpret_cast<uintptr_t>(windows) / sizeof(float)) % kLineFloats;
    gather_windows(s, x, part.c0, part.c1, l.chunk_columns, windows);
    return multiply_part(shape, w, panels, windows, l.rows.data(), mg, bias, part, y + at, pixels,
                         e.at(at));
  }
  const int64_t first = part.q0 * w.rows, last = std::min(mg, part.q1 * w.rows);
  float* sums = thread_buffer<float, BufferUse::kSums>(
      static_cast<size_t>((part.q1 - part.q0) * w.rows * l.chunk_columns));
  const ConvPart whole_strips{
      part.c0, part.c0 + (part.c1 - part.c0 + l.strip - 1) / l.strip * l.strip, part.q0, part.q1};
  const Epilogue none{e.activation, false, nullptr};
  multiply_part(shape, w, panels, x + part.c0, l.rows.data(), mg, bias, whole_strips, sums,
                l.chunk_columns, none);
  // Column c is output pixel (c / padded_width, c % padded_width) where
  // c % padded_width < the output's width.
  for (int64_t m = first; m < last; ++m) {
    const float* from = sums + (m - first) * l.chunk_columns - part.c0;
    for (int64_t c = part.c0; c < part.c1;) {
      const int64_t row = c / l.padded_width, column = c % l.padded_width;
      const int64_t row_end = std::min(part.c1, (row + 1) * l.padded_width);
      const int64_t to = m * pixels + row * g.out[2] + column;
      if (column < g.out[2])
        finish_run(from + c, std::min(row_end, row * l.padded_width + g.out[2]) - c, e.at(to),
                   y + to);
      c = row_end;
    }
  }
}

// Work items: images x groups x column chunks x panel parts. Chunks are at
// most the layout's (their buffers' pitch), and narrower where an image's
// chunks would not keep every thread busy twice over (batch 1); where even
// single strips would not, the panels split too, each part reading (or
// gathering) its chunk itself.
void convolve(const TileShape& shape, const ConvShape& s, const PackedWeights& w,
              const WindowLayout& l, const float* x, const float* bias, float* y,
              const Epilogue& e) {
  const SpatialGeometry& g = s.geometry;
  const int64_t cg = s.in_channels / s.group, mg = s.out_channels / s.group;
  const int64_t image_in = l.source == WindowSource::kShifted
                               ? l.padded_height * l.padded_width * cg
                               : g.in_size() * cg;  // a group's
  const int64_t threads = team_threads(), images = s.batch * s.group;
  const int64_t strips = (l.columns + l.strip - 1) / l.strip;
  const int64_t wanted = std::max((l.columns + l.chunk_columns - 1) / l.chunk_columns,
                                  std::min(strips, (2 * threads + images - 1) / images));
  const int64_t chunk_columns = (strips + wanted - 1) / wanted * l.strip;
  const int64_t chunks = (l.columns + chunk_columns - 1) / chunk_columns;
  const int64_t units = images * chunks;
  const int64_t panel_parts =
      std::clamp<int64_t>((2 * threads + units - 1) / units, 1, w.panels_per_group);
  parallel_for(units * panel_parts, threads > 1, [&](int64_t item) {
    const int64_t unit = item / panel_parts, pp = item % panel_parts;
    const int64_t chunk = unit % chunks, grp = unit / chunks % s.group, n = unit / chunks / s.group;
    const ConvPart part{chunk * chunk_columns, std::min(l.columns, (chunk + 1) * chunk_columns),
                        w.panels_per_group * pp / panel_parts,
                        w.panels_per_group * (pp + 1) / panel_parts};
    if (part.q0 == part.q1) return;
    const int64_t out = (n * s.group + grp) * mg * g.out_size();
    convolve_part(shape, s, w, l, w.panels.data() + grp * w.panels_per_group * w.depth * w.rows,
                  x + (n * s.group + grp) * image_in, bias ? bias + grp * mg : nullptr, y + out,
                  part, e.at(out));
  });
}

// Depthwise convs over 3-D maps: a direct loop per channel plane, whose rows vectorize, since a
// GEMM with one output row would not pay for gathering the windows. Each output sums the bias, then
// the taps in the reference's order.
QDQ_FP32_TARGET void depthwise_planes(const ConvShape& s, const float* x, const float* w,
                                      const float* bias, float* y) {
  const SpatialGeometry& g = s.geometry;
  parallel_for(s.batch * s.out_channels, true, [&](int64_t plane) QDQ_FP32_TARGET {
    const int64_t c = plane % s.out_channels;
    const float* in = x + plane * g.in_size();
    const float* taps = w + c * g.kernel_size();
    float* out = y + plane * g.out_size();
    for (int64_t i = 0; i < g.out_size(); ++i) out[i] = bias ? bias[c] : 0.0f;
    for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0)
      for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1)
        for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
          const float tap = taps[(k0 * g.kernel[1] + k1) * g.kernel[2] + k2];
          const int64_t off2 = k2 * g.dilation[2] - g.pad_begin[2];
          const ColumnRange columns = tap_columns(g, k2);
          for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
            const int64_t i0 = o0 * g.stride[0] - g.pad_begin[0] + k0 * g.dilation[0];
            if (i0 < 0 || i0 >= g.in[0]) continue;
            for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
              const int64_t i1 = o1 * g.stride[1] - g.pad_begin[1] + k1 * g.dilation[1];
              if (i1 < 0 || i1 >= g.in[1]) continue;
              const float* row = in + (i0 * g.in[1] + i1) * g.in[2] + off2;
              float* out_row = out + (o0 * g.out[1] + o1) * g.out[2];
              if (g.stride[2] == 1)
                for (int64_t o2 = columns.begin; o2 < columns.end; ++o2)
                  out_row[o2] += tap * row[o2];
              else
                for (int64_t o2 = columns.begin; o2 < columns.end; ++o2)
                  out_row[o2] += tap * row[o2 * g.stride[2]];
            }
          }
        }
  });
}

}  // namespace

void run(OpContext& ctx, const Tiles& tiles) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* bias = ctx.optional_input(2);
  ctx.require(x.dtype() == DType::kFloat32 && w.dtype() == DType::kFloat32,
              "expects float32 input and weight");
  const ConvShape s = conv_shape(ctx, x, w);
  ctx.require(!bias || (bias->dtype() == DType::kFloat32 && bias->numel() == s.out_channels), [&] {
    return "bias must be float32 of " + std::to_string(s.out_channels) + " values";
  });
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, s.output_shape);
  const float* b = bias ? bias->data<float>() : nullptr;
  const ConvActivation activation = conv_activation(ctx.attrs());
  const Epilogue epilogue{activation, activation.bounded(),
                          conv_residual(ctx, y.shape()) ? ctx.input(3).data<float>() : nullptr};
  // The windows' layout and padded input: this thread's, kept across runs
  // (the kernel runs on the executor's thread, one layer at a time).
  thread_local WindowLayout layout;
  thread_local std::vector<float> padded;
  const int64_t depth = s.in_channels / s.group * s.geometry.kernel_size();
  if (s.group == s.in_channels && s.group == s.out_channels) {
    plan_windows(s, depth, tiles.depthwise_columns, layout);
    if (planar(s.geometry) && depthwise_in_lanes(s, epilogue)) {
      depthwise_lanes(s, layout, x.data<float>(), w.data<float>(), b, epilogue, y.data<float>());
    } else if (planar(s.geometry)) {
      depthwise_padded(tiles, s, layout, x.data<float>(), w.data<float>(), b, epilogue,
                       y.data<float>());
    } else {
      depthwise_planes(s, x.data<float>(), w.data<float>(), b, y.data<float>());
      finish_run(y.data<float>(), y.numel(), epilogue, y.data<float>());
    }
    return;
  }
  // Gathered windows come in chunks of their buffer's size, which cut wide
  // strips into edge strips (ResNet-20's stride-2 layers took 1.06-1.09x
  // the time in AVX2's 4 x 24 tiles), and ran no faster in AVX-512's 8 x 32
  // (1.03-1.06x): they keep a level's first tile.
  const WindowSource source = window_source(s.geometry);
  const TileShape& shape =
      source == WindowSource::kGathered
          ? tiles.shapes[0]
          : tile_shape_for(tiles, s.out_channels / s.group, window_columns(s.geometry, source));
  plan_windows(s, depth, shape.columns, layout);
  const float* windows = x.data<float>();
  if (layout.source == WindowSource::kShifted) {
    pad_input(s, layout, x.data<float>(), padded);
    windows = padded.data();
  }
  thread_local PackedWeights local;
  const PackedWeights& packed = packed_weights(ctx, s, w, shape.rows, local);
  convolve(shape, s, packed, layout, windows, b, y.data<float>(), epilogue);
}

const TileShape& tile_shape_for(const Tiles& tiles, int64_t channels, int64_t columns) {
  const auto padded = [](int64_t n, int64_t step) { return (n + step - 1) / step * step; };
  const TileShape* best = &tiles.shapes[0];
  for (int i = 1; i < tiles.shape_count; ++i) {
    const TileShape& shape = tiles.shapes[i];
    if (padded(channels, shape.rows) * padded(columns, shape.columns) <
        padded(channels, best->rows) * padded(columns, best->columns))
      best = &shape;
  }
  return *best;
}

}  // namespace fp32conv

void conv_fp32_avx2(OpContext& ctx) {
  using fp32conv::micro_tile;
  static const fp32conv::Tiles tiles{
      {{6, fp32conv::kAvx2StripColumns, micro_tile<6, 2, true>, micro_tile<6, 2, false>},
       {4, 24, micro_tile<4, 3, true>, micro_tile<4, 3, false>}},
      2,
      fp32conv::kAvx2StripColumns,
      fp32conv::depthwise_sums};
  fp32conv::run(ctx, tiles);
}

}  // namespace qdq
