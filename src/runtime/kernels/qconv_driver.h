// The loop structure every optimized QConv kernel shares: tiles of output
// pixels split over threads, rows gathered per tile (so the gathered tile stays
// in L1), a GEMM micro-kernel per panel of output-channel blocks, then the fused
// epilogue straight into the NHWC output. An instruction set supplies `Ops`:
//
//   static constexpr ActivationDomain kDomain;   // signedness it multiplies in
//   static constexpr TileShape kTileShapes[];    // the tiles it has: pixels, most blocks
//   static void gemm_tile(const QConvPacked&, int rows, int blocks, int64_t block,
//                         const TileRows& a, int32_t* acc);
//       acc[r][b * 16 + lane] = sum over K of row r and block `block + b`
//   template <Q, R> static void epilogue(const QConvPacked&, const EpilogueTile<Q, R>&);
//       the tile's outputs from its accumulators (bias not added yet); Q, the
//       output's type, and R, the residual's, are uint8_t, int8_t or float
//   static void widen_rows(const QConvPacked&, int rows, int pixels, TileRows& a,
//                          int16_t* words);
//       (optional) a tile's first `pixels` rows into the form the kernel
//       multiplies, once for all its panels: rewrites `a` to point at `words`
//       ([rows][k_padded]; the rows past `pixels`, whose sums no output takes,
//       keep what the buffer held)
//   template <Q, R> static bool fused_tile(const QConvPacked&, int rows, int blocks,
//                                          int64_t block, const TileRows& a,
//                                          const EpilogueTile<Q, R>&);   (optional)
//       gemm_tile and epilogue in one, where the kernel can (true); false
//       leaves the tile to them
//   template <Q, R> static int64_t fused_blocks(const QConvPacked&, int rows,
//                                               int64_t block, int64_t end,
//                                               const TileRows& a,
//                                               const EpilogueTile<Q, R>&);   (optional)
//       fused_tile for a tile's panels of blocks [block, end) in one call (the
//       epilogue tile starts at `block`; its kTileShapes take one block a
//       panel): the blocks it did from `block` on, the driver runs the rest
//   template <Q, R> static void winograd(const QConvPacked&, const uint8_t* x,
//                                        const R* residual, Q* out);   (optional)
//       the whole layer where its shape takes the Winograd form
//       (QConvPacked::winograd: only in the signed domain, qconv_pack.cc)
//   template <TX> static void depthwise(const QConvPacked&, const TX* const* taps,
//       int64_t step, int64_t pixels, int32_t* acc);
//       acc[i * blocks * 16 + channel] = sum over the kernel's taps t of
//       taps[t][i * step + channel] * w[t][channel], for `pixels` pixels i and
//       every channel (x_zero is in the packed bias)
//   template <Q, R> static bool fuses_depthwise(const QConvPacked&, const R* residual);
//   template <TX, Q> static void depthwise_row(const QConvPacked&,
//       const TX* const* taps, Q* out, const Q* residual);   (optional)
//       depthwise and the epilogue in one, for the layers fuses_depthwise
//       takes (Q = R): a whole row of outputs from `out` on, `taps` its
//       first pixel's (those outside the input at zero_pixels)
#pragma once

#include <algorithm>
#include <optional>
#include <span>
#include <vector>

#include "runtime/cpu_features.h"
#include "runtime/kernels/qconv_pack.h"
#include "runtime/reference/tensor_util.h"
#include "support/parallel.h"

namespace qdq {

// A tile's accumulators and where its results go: `rows` pixels, `pitch`
// elements apart in the output (and the residual), `channels` channels from
// `channel` on, accumulators [rows][blocks * 16].
template <typename Q, typename R>
struct EpilogueTile {
  const int32_t* acc;
  int rows, blocks;
  int64_t channel, channels, pitch;
  const R* residual;  // nullptr without a residual
  Q* out;
};

// The reference epilogue, element by element, for `count` channels of one
// pixel from `channel` on: what the vector epilogues fall back to where a
// multiplier is not finite (and the NaN rule comes into play).
template <typename Q, typename R>
void scalar_epilogue(const QConvPacked& p, int64_t channel, int count, const int32_t* acc,
                     const R* residual, Q* out) {
  for (int i = 0; i < count; ++i) {
    // int32 wrap-around, as the vector lanes add: the true sum when it fits.
    const auto sum = static_cast<int32_t>(static_cast<uint32_t>(acc[i]) +
                                          static_cast<uint32_t>(p.bias[channel + i]));
    out[i] = qconv_epilogue<Q, R>(p.params, channel + i, sum, residual ? residual[i] : R{0});
  }
}

// A GEMM tile: `rows` pixels by up to `blocks` blocks of output channels.
struct TileShape {
  int rows, blocks;
};

// The tile for a layer of `blocks` blocks. By default the first of the
// kernel's shapes that takes as many blocks as the layer has (up to the
// widest): tiles over the flattened pixels. Tiles that stay within rows of
// `width` pixels (0: none) take, among the shapes whose rows divide the width
// (no pixel computed past a row's end), the one with the least work per
// multiply-add vector: a block's 64-byte weight load (one per pixel row of the
// tile) counted as a multiply-add, a pixel's 4-byte broadcast (one per panel)
// as a quarter. (Measured, ResNet-18's 32-pixel rows, 64 channels, batch 32,
// 1 thread: 8 x 2 tiles 6.0 ms a layer, 4 x 4 6.2, 6 x 4 with a third of the
// last tile wasted 6.8; ResNet-50's 14- and 7-pixel rows are best gathered in
// the default tiles.) Fewer gathered pixels than the default's rows (a
// classifier at batch 1: one pixel in 16-row tiles) take the shape of fewest
// rows that holds them all.
template <typename Ops>
TileShape qconv_tile_shape(int64_t blocks, int64_t width, int64_t pixels) {
  int widest = 0;
  for (const TileShape& shape : Ops::kTileShapes) widest = std::max(widest, shape.blocks);
  TileShape best{0, 0};
  for (const TileShape& shape : Ops::kTileShapes)
    if (shape.blocks == std::min<int64_t>(blocks, widest)) {
      best = shape;
      break;
    }
  if (width == 0) {
    if (pixels < best.rows)
      for (const TileShape& shape : Ops::kTileShapes)
        if (shape.rows >= pixels && shape.rows < best.rows) best = shape;
    return best;
  }
  double best_cost = 0;
  for (const TileShape& shape : Ops::kTileShapes) {
    if (width % shape.rows != 0) continue;
    const int64_t panels = (blocks + shape.blocks - 1) / shape.blocks;
    const double cost = 1.0 + 1.0 / shape.rows + 0.25 * static_cast<double>(panels) / blocks;
    if (best_cost == 0 || cost < best_cost) best = shape, best_cost = cost;
  }
  return best;
}

// The drivers' per-thread buffers (thread_buffer).
enum class BufferUse { kGatheredRows, kWidenedRows, kDepthwiseTaps, kDepthwiseSums };

// Into how many parts (at most `most`) each of `items` work items splits so
// that every thread has about two: a small map at batch 1 (ResNet-50's 7x7
// layers are 2 tiles of 32 pixels) splits its output-channel blocks too.
inline int64_t qconv_work_splits(int64_t items, int64_t most) {
  return std::clamp<int64_t>((2 * team_threads() + items - 1) / items, 1, most);
}

// Into how many groups a layer's panels split; work runs group by group,
// each group over every tile. At least qconv_work_splits' (both threads
// busy on a small map). Where the weights outweigh the rows the tiles read
// (ResNet-50's 14x14 and 7x7 layers at batch 1: 0.26-2.4 MB of weights
// against 0.03-0.23 MB of rows), each thread takes its own groups, so that
// it streams its share of the weights, not all of them, in groups of at
// most half an L2, which stay there while the thread runs them over its
// tiles: every tile had streamed every block's weights, from L3 where they
// outgrew L2 (two threads: layer 4's 1x1 layers 0.75-0.80x the time, layer
// 3's 0.92-0.96x). No smaller than that: each group gathers its tiles again
// (ResNet-18's stride-2 layer at 4x4, 1.2 MB, in groups of 256 KB on a
// 2 MB L2: 1.14x; in its 1 MB groups, no change).
inline int64_t qconv_panel_groups(const QConvPacked& p, int64_t tiles, int64_t panels,
                                  int64_t pixels) {
  int64_t groups = qconv_work_splits(tiles, panels);
  const auto weight_bytes = static_cast<int64_t>(p.weights.size());
  const int64_t group_bytes = l2_cache_bytes() / 2;
  if (tiles > 1 && weight_bytes > pixels * p.k_padded)
    groups =
        std::max({groups, int64_t{team_threads()}, (weight_bytes + group_bytes - 1) / group_bytes});
  return std::min(groups, panels);
}

// The accumulators of the kernel's largest tile.
template <typename Ops>
constexpr int64_t qconv_tile_accumulators() {
  int64_t most = 0;
  for (const TileShape& shape : Ops::kTileShapes)
    most = std::max<int64_t>(most, int64_t{shape.rows} * shape.blocks * kQConvBlock);
  return most;
}

// The layers a QConv runs: a grouped one's group layers (QConvPacked::
// group_layers), each over the next slice of the channels (group layer l
// reads x from channel l * its in_channels on, writes from l * its
// out_channels on), else the layer itself. Their shapes are alike.
inline std::span<const QConvPacked> qconv_layers(const QConvPacked& p) {
  if (p.group_layers.empty()) return {&p, 1};
  return p.group_layers;
}

// A layer's layers (qconv_layers) in one region, one after the other: each
// thread takes its share of all of them, layer by layer.
template <typename Ops, typename Q, typename R>
void qconv_gemm(const QConvPacked& layer, const uint8_t* layer_x, const R* layer_residual,
                Q* layer_out) {
  const std::span<const QConvPacked> layers = qconv_layers(layer);
  // The first layer's shape stands for all.
  const QConvPacked& lead = layers.front();
  const QConvParams& lead_params = lead.params;
  const int64_t m = lead_params.shape.out_channels;
  const int64_t out_height = lead_params.out_height(), out_width = lead_params.out_width();
  const int64_t pixels = lead_params.shape.batch * out_height * out_width;
  const TileShape shape =
      qconv_tile_shape<Ops>(lead.blocks, qconv_reads_rows(lead) ? out_width : 0, pixels);
  // The blocks split evenly into panels: 16 blocks in tiles of 3 are
  // 3, 3, 3, 3, 2, 2, not five of 3 and one of 1.
  const int64_t panels = (lead.blocks + shape.blocks - 1) / shape.blocks;
  const int64_t panel_blocks = lead.blocks / panels, wider_panels = lead.blocks % panels;
  const auto panel_start = [&](int64_t i) { return i * panel_blocks + std::min(i, wider_panels); };
  const int64_t rows = shape.rows;
  const int64_t quads = lead.k_padded / 4;
  const QConvSource source = qconv_source(lead, rows);
  // Direct tiles stay within an output row (their rows are one stride apart);
  // gathered tiles run over the flattened pixels.
  const int64_t tiles_per_row = (out_width + rows - 1) / rows;
  const int64_t tiles = source.direct ? lead_params.shape.batch * out_height * tiles_per_row
                                      : (pixels + rows - 1) / rows;
  // Each group of a tile's panels reads (or gathers) the tile itself. Group
  // layers stream their own weights, each thread its own layers'.
  const auto layer_count = static_cast<int64_t>(layers.size());
  const int64_t groups = layer_count == 1 ? qconv_panel_groups(lead, tiles, panels, pixels)
                                          : qconv_work_splits(tiles * layer_count, panels);
  const int64_t layer_items = tiles * groups;
  constexpr bool kWidens = requires(TileRows & t) { Ops::widen_rows(lead, 0, 0, t, nullptr); };
  constexpr bool kFusesBlocks = requires(const TileRows& t, const EpilogueTile<Q, R>& e) {
    Ops::template fused_blocks<Q, R>(lead, 0, 0, 0, t, e);
  };
  static_assert(!kFusesBlocks || std::ranges::all_of(Ops::kTileShapes, [](const TileShape& each) {
    return each.blocks == 1;
  }));
  // Where the panels split into groups (or the layer into group layers),
  // the items run group by group, so that each thread streams only its own
  // groups' weights (qconv_panel_groups), and none steals: a thief would
  // stream another's (the Xeon, 16 threads, ResNet-18 at batch 1, its deep
  // layers' weights split so: 1.08-1.15x the time stealing).
  const int64_t all_items = layer_items * layer_count;
  const bool own_weights = groups > 1 || layer_count > 1;
  StealingShares shares(all_items, own_weights ? all_items : steal_chunk(rows * lead.k_padded * m));
  parallel_region([&](int thread, int threads) {
    uint8_t* const scratch =
        thread_buffer<uint8_t, BufferUse::kGatheredRows>(static_cast<size_t>(rows * lead.k_padded));
    int16_t* const words = kWidens ? thread_buffer<int16_t, BufferUse::kWidenedRows>(
                                         static_cast<size_t>(rows * lead.k_padded))
                                   : nullptr;
    QConvRowWindow::ready_buffers(lead, source);  // the group layers' are alike
    alignas(64) int32_t acc[qconv_tile_accumulators<Ops>()];
    TileRows a;
    // The window of the group layer this thread ran last, kept from one
    // chunk to the next: its rows are mostly the next chunk's.
    std::optional<QConvRowWindow> window;
    int64_t window_layer = -1;
    // Layer l's work items [begin, end), on its x, residual and output.
    const auto run_items = [&](int64_t l, int64_t begin, int64_t end) {
      const QConvPacked& p = layers[static_cast<size_t>(l)];
      const QConvParams& q = p.params;
      const int64_t pitch = p.y_pitch;
      const uint8_t* const x = layer_x + l * lead_params.shape.in_channels;
      const R* const residual = layer_residual ? layer_residual + l * m : nullptr;
      Q* const out = layer_out + l * m;
      if (window_layer != l) window.emplace(p, source, x), window_layer = l;
      // The thread's work items in order, its tile's place stepped from one to
      // the next: five divisions per tile, with the TileRows copy each tile made,
      // were a tenth of ResNet-20's run (-9 % without them). Group by group,
      // so that where groups split the panels each thread takes whole groups:
      // ResNet-18's 4x4 layers at batch 1 (two tiles of six rows and one of
      // four, two groups) gave one of two threads 18 of 32 rows' work in tile
      // order.
      int64_t group = begin / tiles, tile = begin % tiles;
      int64_t n = tile / tiles_per_row / out_height, oh = tile / tiles_per_row % out_height;
      int64_t ow0 = tile % tiles_per_row * rows;
      for (int64_t work = begin; work < end; ++work) {
        int64_t first = tile * rows, count = std::min(rows, pixels - first);
        if (source.direct) {
          first = (n * out_height + oh) * out_width + ow0;
          count = std::min(rows, out_width - ow0);
        }
        if (source.direct && count == rows) {
          qconv_direct_rows(p, source, *window, n, oh, ow0, &a);
        } else {  // gathered: one segment
          a.segments = 1;
          a.quads = quads;
          bool flip = false;
          a.segment[0] = qconv_gather_rows(p, x, first, count, rows, scratch, &a.stride, &flip);
          a.flip = flip ? 0x80808080u : 0;
        }
        if constexpr (kWidens)
          Ops::widen_rows(p, static_cast<int>(rows), static_cast<int>(count), a, words);
        const int64_t first_panel = groups == 1 ? 0 : group * panels / groups;
        const int64_t end_panel = groups == 1 ? panels : (group + 1) * panels / groups;
        // The epilogue tile of blocks [block, past).
        const auto epilogue_tile = [&](int64_t block, int64_t past) {
          const int64_t channel = block * kQConvBlock, at = first * pitch + channel;
          return EpilogueTile<Q, R>{acc,
                                    static_cast<int>(count),
                                    static_cast<int>(past - block),
                                    channel,
                                    std::min<int64_t>((past - block) * kQConvBlock, m - channel),
                                    pitch,
                                    residual ? residual + at : nullptr,
                                    out + at};
        };
        // The group's panels, blocks [group_block, group_end).
        const int64_t group_block = panel_start(first_panel), group_end = panel_start(end_panel);
        const EpilogueTile<Q, R> group_tile = epilogue_tile(group_block, group_end);
        int64_t i = first_panel;
        if constexpr (kFusesBlocks)  // one block a panel
          i += Ops::template fused_blocks<Q, R>(p, static_cast<int>(rows), group_block, group_end,
                                                a, group_tile);
        for (; i < end_panel; ++i) {
          const int64_t block = panel_start(i), past = panel_start(i + 1);
          const EpilogueTile<Q, R> epilogue = epilogue_tile(block, past);
          const auto blocks = static_cast<int>(past - block);
          bool fused = false;
          if constexpr (requires { Ops::template fused_tile<Q, R>(p, 0, 0, 0, a, epilogue); })
            fused = Ops::template fused_tile<Q, R>(p, static_cast<int>(rows), blocks, block, a,
                                                   epilogue);
          if (!fused) {
            Ops::gemm_tile(p, static_cast<int>(rows), blocks, block, a, acc);
            Ops::template epilogue<Q, R>(p, epilogue);
          }
        }
        if constexpr (!std::is_same_v<Q, float>)  // while the tile is in L1
          for (int64_t r = 0; r < count; ++r)
            qconv_apply_table(q, group_tile.out + r * pitch, group_tile.channels);
        if (++tile == tiles) {
          tile = 0, ++group, n = 0, oh = 0, ow0 = 0;
          continue;
        }
        if ((ow0 += rows) < out_width) continue;
        ow0 = 0;
        if (++oh == out_height) oh = 0, ++n;
      }
    };
    shares.take(thread, threads, [&](int64_t begin, int64_t end) {
      for (int64_t l = begin / layer_items; l < layer_count && l * layer_items < end; ++l) {
        const int64_t first = l * layer_items;
        run_items(l, std::max(begin - first, int64_t{0}), std::min(end - first, layer_items));
      }
    });
  });
}

// A layer's layers (qconv_layers) in AVX2's Winograd form (Ops::winograd).
// Small ones run whole on each thread where they share out evenly (a
// region opened inside one runs on its thread alone); else a region a
// layer, each splitting its tiles. ResNeXt-50 at batch 1, two threads: its
// 14x14 and 7x7 grouped layers of 32 group layers (0.45 M multiply-adds
// each, a few µs) 0.72-0.77x the time whole, its 28x28 and 56x56 ones (1.8
// and 7.2 M) 1.03-1.18x.
template <typename Ops, typename Q, typename R>
void qconv_winograd_layers(const QConvPacked& p, const uint8_t* x, const R* residual, Q* out) {
  const std::span<const QConvPacked> layers = qconv_layers(p);
  const QConvParams& q = layers.front().params;
  const int64_t c = q.shape.in_channels, m = q.shape.out_channels;
  const auto count = static_cast<int64_t>(layers.size());
  const auto run_layer = [&](int64_t i) {
    Ops::template winograd<Q, R>(layers[static_cast<size_t>(i)], x + i * c,
                                 residual ? residual + i * m : nullptr, out + i * m);
  };
  const int64_t macs = q.shape.batch * q.out_height() * q.out_width() * 9 * c * m;
  const int64_t threads = team_threads();
  if (count > 1 && (count % threads == 0 || count >= 4 * threads) && macs < (int64_t{1} << 20))
    parallel_for(count, true, run_layer);
  else
    for (int64_t i = 0; i < count; ++i) run_layer(i);
}

// Depthwise rows: a tap outside the input reads `zero_pixels` (x_zero, which
// the packed bias takes off again), so every pixel sums all of the kernel's
// taps and the pixels whose taps all lie inside the row's width go to the
// kernel as one run, one stride apart.
template <typename Ops, typename TX, typename Q, typename R>
void qconv_depthwise(QConvPacked& p, const TX* x, const R* residual, Q* out) {
  const QConvParams& q = p.params;
  const SpatialGeometry& g = q.shape.geometry;
  const int64_t c = q.shape.out_channels, padded = p.blocks * kQConvBlock;
  const int64_t out_rows = q.shape.batch * q.out_height(), out_width = q.out_width();
  const int64_t step = g.stride[2] * c;
  // Long enough for a whole row's run read from it, and a last partial block.
  const auto zero_bytes = static_cast<size_t>(out_width * step + padded);
  if (p.zero_pixels.size() != zero_bytes)
    p.zero_pixels.assign(zero_bytes, static_cast<uint8_t>(static_cast<TX>(q.x_zero)));
  const auto* zero_pixels = reinterpret_cast<const TX*>(p.zero_pixels.data());
  // The run: output columns [inside_begin, inside_end) read columns inside the input.
  const int64_t reach = (g.kernel[2] - 1) * g.dilation[2];
  const int64_t inside_begin =
      std::min(out_width, (g.pad_begin[2] + g.stride[2] - 1) / g.stride[2]);
  const int64_t last_start = q.width() - 1 + g.pad_begin[2] - reach;  // of the last one's taps
  const int64_t inside_end =
      last_start < 0 ? inside_begin
                     : std::clamp<int64_t>(last_start / g.stride[2] + 1, inside_begin, out_width);
  constexpr bool kFusable = std::is_same_v<Q, R> && !std::is_same_v<Q, float> && requires {
    Ops::template depthwise_row<TX, Q>;
  };
  bool fused = false;
  if constexpr (kFusable) fused = Ops::template fuses_depthwise<Q, R>(p, residual);
  StealingShares shares(out_rows, steal_chunk(out_width * c * g.kernel_size()));
  parallel_region([&](int thread, int threads) {
    const TX** const taps =
        thread_buffer<const TX*, BufferUse::kDepthwiseTaps>(static_cast<size_t>(g.kernel_size()));
    int32_t* const acc =
        thread_buffer<int32_t, BufferUse::kDepthwiseSums>(static_cast<size_t>(out_width * padded));
    shares.take(thread, threads, [&](int64_t first_row, int64_t end_row) {
      for (int64_t row = first_row; row < end_row; ++row) {
        const int64_t n = row / q.out_height(), oh = row % q.out_height();
        // The taps of output pixel ow; those outside the input read zero_pixels.
        const auto set_taps = [&](int64_t ow) {
          for (int64_t kh = 0, t = 0; kh < g.kernel[1]; ++kh) {
            const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
            for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++t) {
              const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
              const bool inside = ih >= 0 && ih < q.height() && iw >= 0 && iw < q.width();
              taps[t] = inside ? x + ((n * q.height() + ih) * q.width() + iw) * c : zero_pixels;
            }
          }
        };
        const int64_t at = row * out_width * c;
        if (fused) {  // never without kFusable
          if constexpr (kFusable) {
            set_taps(0);
            Ops::template depthwise_row<TX, Q>(p, taps, out + at,
                                               residual ? residual + at : nullptr);
          }
        } else {
          const auto run = [&](int64_t ow, int64_t pixels) {
            set_taps(ow);
            Ops::template depthwise<TX>(p, taps, step, pixels, acc + ow * padded);
          };
          for (int64_t ow = 0; ow < inside_begin; ++ow) run(ow, 1);
          if (inside_end > inside_begin) run(inside_begin, inside_end - inside_begin);
          for (int64_t ow = inside_end; ow < out_width; ++ow) run(ow, 1);
          // One epilogue for the row: its pixels are `padded` accumulators
          // apart and `c` output elements apart.
          Ops::template epilogue<Q, R>(
              p, EpilogueTile<Q, R>{acc, static_cast<int>(out_width), static_cast<int>(p.blocks), 0,
                                    c, c, residual ? residual + at : nullptr, out + at});
        }
        if constexpr (!std::is_same_v<Q, float>) qconv_apply_table(q, out + at, out_width * c);
      }
    });
  });
}

// The kernel entry: packed state, the shapes' dispatch, the reference kernel
// for what is not packed.
template <typename Ops>
void qconv_run(OpContext& ctx) {
  const auto state = qconv_state(ctx, Ops::kDomain);
  QConvPacked& p = *state;  // mutable only for the depthwise's zero pixels it keeps
  if (!p.packed || !Ops::accepts(p)) {
    ctx.ran_at(Isa::kRef);
    return qconv_reference(ctx);
  }
  ctx.ran_form(qconv_packed_form(p));
  const QConvPacked& lead = qconv_layers(p).front();  // its form is every layer's
  const bool winograd = lead.winograd != WinogradForm::kNone;
  ctx.ran_algorithm(!p.group_layers.empty() ? (winograd ? "grouped-winograd" : "grouped")
                    : lead.winograd == WinogradForm::kF2x4 ? "winograd-2x4"
                    : winograd                             ? "winograd"
                    : !lead.quad_pairs.empty()             ? "quad-pairs"
                                                           : nullptr);
  Tensor& y = ctx.allocate_output(0, p.params.y_type, qconv_output_shape(p.params));
  const Tensor& x = ctx.input(0);
  dispatch_epilogue_types(ctx, p.params, [&](auto yt, auto rt) {
    using Q = decltype(yt);
    using R = decltype(rt);
    const R* residual = p.params.residual ? ctx.input(9).data<R>() : nullptr;
    const auto* bytes = static_cast<const uint8_t*>(x.raw());
    if constexpr (requires { Ops::template winograd<Q, R>(p, bytes, residual, y.data<Q>()); })
      if (winograd) return qconv_winograd_layers<Ops, Q, R>(p, bytes, residual, y.data<Q>());
    if (!p.params.depthwise()) return qconv_gemm<Ops, Q, R>(p, bytes, residual, y.data<Q>());
    dispatch_types<uint8_t, int8_t>(ctx, x.dtype(), [&](auto xt) {
      using TX = decltype(xt);
      qconv_depthwise<Ops, TX, Q, R>(p, x.data<TX>(), residual, y.data<Q>());
    });
  });
}

}  // namespace qdq
