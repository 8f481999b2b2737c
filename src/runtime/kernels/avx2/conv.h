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

// Output channels of a micro-tile: the weights are packed in panels of this
// many, [depth][kPanelRows].
constexpr int kPanelRows = 6;

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
  int columns;        // output pixels of the strip, up to Tiles::strip_columns
  const float* bias;  // the panel's first channel's, or nullptr
  bool first, last;
};

// A level's register tiles.
struct Tiles {
  // Output pixels (columns) of a micro-tile and of a depthwise strip.
  int64_t strip_columns;
  // out[r][j] (+)= sum over the block's depth of a[k][r] * b[rows[k] + j]:
  // the panel's rows by the strip's columns; `full` for strip_columns
  // columns, `edge` for fewer (t.columns). The last block applies `e`, its
  // residual at t.out's offsets.
  using MicroTile = void (*)(const float* a, const float* b, const int64_t* rows, int64_t depth,
                             const TileTarget& t, const Epilogue& e);
  MicroTile full, edge;
  // Sums of a depthwise channel for `columns` columns from `at` on, in whole
  // strips of strip_columns: `start` plus every tap's weight w[t] times the
  // floats offsets[t] further on.
  void (*depthwise_sums)(const float* at, int64_t columns, const int64_t* offsets, int64_t taps,
                         const float* w, float start, float* sums);
};

// Conv and ai.qdq.Conv (conv.cc) with `tiles`.
void run(OpContext& ctx, const Tiles& tiles);

}  // namespace fp32conv
}  // namespace qdq
