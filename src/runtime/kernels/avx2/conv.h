// The FP32 Conv driver of conv.cc (windows, packed weights, work items,
// depthwise planes) and the register tiles it runs: AVX2+FMA's, or another
// level's over wider vectors (kernels/avx512vnni/conv.cc). The driver stays
// AVX2 code; a level brings only what multiplies.
#pragma once

#include <cstdint>

#include "runtime/reference/op_context.h"
#include "runtime/reference/spatial.h"

namespace qdq {
namespace fp32conv {

// What each output gets after its sum: ai.qdq.Conv's input 3 (laid out as
// the output, `residual` at the output in hand; nullptr without one) added,
// then the clamp.
struct Epilogue {
  ConvActivation activation;
  bool bounded;
  const float* residual;
  // The same for the output `offset` elements further on.
  Epilogue at(int64_t offset) const {
    return {activation, bounded, residual ? residual + offset : nullptr};
  }
};

// Where a micro-tile's sums go, and what it does before and after its block
// of depth: the first block starts from the bias, later ones from the sums
// stored, the last one applies the epilogue.
struct TileTarget {
  float* out;
  int64_t pitch;      // between output channels
  int rows;           // output channels of the panel that exist
  int columns;        // output pixels of the strip, up to TileShape::columns
  const float* bias;  // the panel's first channel's, or nullptr
  bool first, last;
};

// out[r][j] (+)= sum over the block's depth of a[k][r] * b[rows[k] + j]:
// the panel's rows by the strip's columns. The last block applies `e`, its
// residual at t.out's offsets.
using MicroTile = void (*)(const float* a, const float* b, const int64_t* rows, int64_t depth,
                           const TileTarget& t, const Epilogue& e);

// A micro-tile: `rows` output channels (the weights are packed in panels of
// this many, [depth][rows]) by `columns` output pixels; `full` for whole
// strips, `edge` for fewer columns (t.columns).
struct TileShape {
  int rows;
  int64_t columns;
  MicroTile full, edge;
};

// A level's register tiles.
struct Tiles {
  // Its micro-tiles (at most two); a layer takes the one that computes the
  // fewest padded outputs (tile_shape_for).
  TileShape shapes[2];
  int shape_count;
  // Sums of a depthwise channel for `columns` columns from `at` on, in whole
  // strips of depthwise_columns: `start` plus every tap's weight w[t] times
  // the floats offsets[t] further on.
  int64_t depthwise_columns;
  void (*depthwise_sums)(const float* at, int64_t columns, const int64_t* offsets, int64_t taps,
                         const float* w, float start, float* sums);
};

// The shape of `tiles` for a GEMM of `channels` output channels (a group's)
// by `columns` columns (an image's): the fewest panel rows times whole
// strips, the first shape on a tie.
const TileShape& tile_shape_for(const Tiles& tiles, int64_t channels, int64_t columns);

// Conv and ai.qdq.Conv (conv.cc) with `tiles`.
void run(OpContext& ctx, const Tiles& tiles);

}  // namespace fp32conv
}  // namespace qdq
