// ai.qdq.QConv with AMX-INT8: tdpbusd multiplies a tile of up to 16 rows of
// 64 uint8 activations by 64 x 16 int8 weights and adds the products to 16 x 16
// int32 sums, exact as vpdpbusd is (no intermediate saturation). qconv_pack's
// weight layout, [block][quad][16 channels][4 bytes], is already the weight
// tile's: a block's 16 quads are 16 rows of 64 bytes, 64 bytes apart.
//
// A GEMM tile is up to 2 x 16 pixels by 2 blocks: 4 accumulator tiles, 2 of
// activations, 2 of weights — the 8 tile registers. A tile register's shape is
// fixed by the loaded configuration, so K runs in chunks of the largest count
// of quads (up to 16) that divides a segment's: 16 for 64-channel taps, 4 for
// 16-channel ones. Rows of an int8 input read in place (flipped as loaded by
// the other kernels) are multiplied signed by tdpbssd instead, from sums that
// start at what the flip would have added.
//
// The epilogues and the depthwise kernel are AVX-512 VNNI's.

#include <atomic>

#include "runtime/kernels/avx512vnni/qconv_ops.h"
#include "runtime/kernels/registry.h"

#define QDQ_AMX_TARGET \
  __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512vnni")))

// tileloadd and tilestored with the memory they touch made known to the
// compiler: GCC's _tile_loadd/_tile_stored give their asm no memory operand,
// so stores to the rows before a load, or loads of the sums after a store,
// could be moved across them.
#define QDQ_TILE_LOAD(tile, base, stride)                                                     \
  asm volatile("tileloadd (%0,%1,1), %%tmm" #tile ::"r"(base), "r"(static_cast<long>(stride)) \
               : "memory")
#define QDQ_TILE_STORE(tile, base, stride)                                                        \
  asm volatile("tilestored %%tmm" #tile ", (%0,%1,1)" ::"r"(base), "r"(static_cast<long>(stride)) \
               : "memory")

namespace qdq {
namespace {

// Tile registers: sums 0..3 (group g, block b: 2g + b), activations 4..5
// (group g), weights 6..7 (block b).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// The largest count of quads, up to a tile's 16, that divides `quads`.
int chunk_quads(int64_t quads) {
  for (int chunk = 16; chunk > 1; --chunk)
    if (quads % chunk == 0) return chunk;
  return 1;
}

// Counts the AMX layers run: a thread's configuration is loaded again for
// each, since other code in the thread (another library, a benchmark's
// tilerelease) may have changed it in between.
std::atomic<uint64_t> layer_runs{0};

// Loads the configuration for groups of `group_rows` pixels and K chunks of
// `chunk` quads, unless this thread loaded it during this layer (ldtilecfg
// also zeroes every tile; the tiles below start from zero anyway).
QDQ_AMX_TARGET void configure(int group_rows, int chunk) {
  thread_local int loaded_rows = 0, loaded_chunk = 0;
  thread_local uint64_t loaded_run = 0;
  const uint64_t run = layer_runs.load(std::memory_order_relaxed);
  if (loaded_run == run && loaded_rows == group_rows && loaded_chunk == chunk) return;
  TileConfig config;
  for (int t = 0; t < 4; ++t) {
    config.rows[t] = static_cast<uint8_t>(group_rows);
    config.colsb[t] = 64;
  }
  for (int t = 4; t < 6; ++t) {
    config.rows[t] = static_cast<uint8_t>(group_rows);
    config.colsb[t] = static_cast<uint16_t>(4 * chunk);
  }
  for (int t = 6; t < 8; ++t) {
    config.rows[t] = static_cast<uint8_t>(chunk);
    config.colsb[t] = 64;
  }
  // GCC's _tile_loadconfig names only the first 8 bytes as its operand, so
  // the stores of the shapes could be dropped (they were): the whole struct here.
  asm volatile("ldtilecfg %0" ::"m"(config));
  loaded_rows = group_rows;
  loaded_chunk = chunk;
  loaded_run = run;
}

// Signed: the rows are int8 x read as it is (TileRows::flip), multiplied
// with tdpbssd; the sums start at 128 * sum w (flip_sums), what the signed
// products lack against the flipped a = x + 128: sum a w = sum x w + 128 sum w.
template <int Groups, int Blocks, bool Signed>
QDQ_AMX_TARGET void tile(const TileRows& a, const int8_t* w, int64_t quads, int chunk,
                         int group_rows, const int32_t* flip_sums, int32_t* acc) {
  if constexpr (Signed) {  // every row of a sum tile from the same 64 bytes
    QDQ_TILE_LOAD(0, flip_sums, 0);
    if constexpr (Blocks == 2) QDQ_TILE_LOAD(1, flip_sums + kQConvBlock, 0);
    if constexpr (Groups == 2) QDQ_TILE_LOAD(2, flip_sums, 0);
    if constexpr (Groups == 2 && Blocks == 2) QDQ_TILE_LOAD(3, flip_sums + kQConvBlock, 0);
  } else {
    _tile_zero(0);
    if constexpr (Blocks == 2) _tile_zero(1);
    if constexpr (Groups == 2) _tile_zero(2);
    if constexpr (Groups == 2 && Blocks == 2) _tile_zero(3);
  }
  const int64_t block_stride = quads * 4 * kQConvBlock;
  const int64_t second_group = group_rows * a.stride;
  for (int s = 0; s < a.segments; ++s) {
    const uint8_t* base = a.segment[static_cast<size_t>(s)];
    for (int64_t q = 0; q < a.quads; q += chunk, w += chunk * 4 * kQConvBlock) {
      QDQ_TILE_LOAD(4, base + 4 * q, a.stride);
      QDQ_TILE_LOAD(6, w, 4 * kQConvBlock);
      if constexpr (Blocks == 2) QDQ_TILE_LOAD(7, w + block_stride, 4 * kQConvBlock);
      if constexpr (Groups == 2) QDQ_TILE_LOAD(5, base + 4 * q + second_group, a.stride);
      if constexpr (Signed) {
        _tile_dpbssd(0, 4, 6);
        if constexpr (Blocks == 2) _tile_dpbssd(1, 4, 7);
        if constexpr (Groups == 2) _tile_dpbssd(2, 5, 6);
        if constexpr (Groups == 2 && Blocks == 2) _tile_dpbssd(3, 5, 7);
      } else {
        _tile_dpbusd(0, 4, 6);
        if constexpr (Blocks == 2) _tile_dpbusd(1, 4, 7);
        if constexpr (Groups == 2) _tile_dpbusd(2, 5, 6);
        if constexpr (Groups == 2 && Blocks == 2) _tile_dpbusd(3, 5, 7);
      }
    }
  }
  // acc[pixel][block * 16 + lane]: a pixel's sums are Blocks * 64 bytes apart.
  const int64_t pitch = Blocks * 4 * kQConvBlock;
  int32_t* const second = acc + group_rows * Blocks * kQConvBlock;
  QDQ_TILE_STORE(0, acc, pitch);
  if constexpr (Blocks == 2) QDQ_TILE_STORE(1, acc + kQConvBlock, pitch);
  if constexpr (Groups == 2) QDQ_TILE_STORE(2, second, pitch);
  if constexpr (Groups == 2 && Blocks == 2) QDQ_TILE_STORE(3, second + kQConvBlock, pitch);
}

using TileFn = void (*)(const TileRows&, const int8_t*, int64_t, int, int, const int32_t*,
                        int32_t*);

template <bool Signed>
TileFn tile_for(int groups, int blocks) {
  if (groups == 2) return blocks == 2 ? tile<2, 2, Signed> : tile<2, 1, Signed>;
  return blocks == 2 ? tile<1, 2, Signed> : tile<1, 1, Signed>;
}

struct AmxOps : avx512vnni::Avx512VnniOps {
  // Two groups of up to 16 pixels (even counts above 16) by up to 2 blocks;
  // the narrower ones for rows they divide (ResNet-50's 56, 28, 14, 7).
  static constexpr TileShape kTileShapes[] = {{32, 2}, {32, 1}, {28, 2}, {16, 2},
                                              {14, 2}, {8, 2},  {7, 2}};

  static void gemm_tile(const QConvPacked& p, int rows, int blocks, int64_t block,
                        const TileRows& a, int32_t* acc) {
    const int groups = rows > 16 ? 2 : 1, group_rows = rows / groups;
    const int chunk = chunk_quads(a.quads);
    configure(group_rows, chunk);
    (a.flip ? tile_for<true>(groups, blocks) : tile_for<false>(groups, blocks))(
        a, qconv_block_weights(p, block), p.k_padded / 4, chunk, group_rows,
        a.flip ? p.flip_sums.data() + block * kQConvBlock : nullptr, acc);
  }

  // The tiles are AMX's, their sums stored through memory: not the fused
  // AVX-512 VNNI tiles the base has.
  template <typename Q, typename R>
  static bool fused_tile(const QConvPacked&, int, int, int64_t, const TileRows&,
                         const EpilogueTile<Q, R>&) {
    return false;
  }
};

std::atomic<int> min_tiles_per_thread{4};

// Whether a layer is better run by AVX-512 VNNI's tiles. Taps of fewer than 4
// quads (a 3-channel stem, padded to 4) would run each tile instruction on 4
// to 12 of its 64 bytes of K (ResNet-50's 7x7 stem, 16 threads: 720 GMAC/s
// with VNNI's tiles, 268 with AMX's). And a layer of fewer than 4 AMX tiles
// (16 pixels x 2 blocks) a thread does not pay back loading the tile
// configuration and storing the sums through memory on each thread: the
// CIFAR models' late layers at batch 1 on 16 threads, their classifier at batch
// 32. Device machine, 16 threads, medians of 5 alternating runs, AMX for
// every layer -> this rule: MobileNetV2 u8s8 batch 1 0.655 -> 0.639 ms (VNNI
// alone 0.631), its QAT file 0.790 -> 0.679, ResNet-20 u8s8 0.261 -> 0.224,
// ResNet-18 u8s8 batch 32 7.39 -> 6.80, batch 1 0.613 -> 0.619 (noise is
// +-10 % there); 1 thread keeps nearly every layer on AMX.
bool vnni_runs_it_better(const QConvPacked& p) {
  if (chunk_quads(p.tap_channels / 4) < 4) return true;
  const QConvParams& q = p.params;
  const int64_t pixels = q.shape.batch * q.out_height() * q.out_width();
  const int64_t tiles = (pixels + 15) / 16 * ((p.blocks + 1) / 2);
  return tiles < min_tiles_per_thread.load(std::memory_order_relaxed) * team_threads();
}

}  // namespace

int set_amx_min_tiles_per_thread(int tiles) { return min_tiles_per_thread.exchange(tiles); }

// Both kernels multiply in the unsigned domain: one packed state. Depthwise
// layers are AVX-512 VNNI's code either way (no tiles), and reported so.
void qconv_amx(OpContext& ctx) {
  static_assert(AmxOps::kDomain == avx512vnni::Avx512VnniOps::kDomain);
  const auto state = qconv_state(ctx, AmxOps::kDomain);
  if (state->params.depthwise() || vnni_runs_it_better(*state)) {
    ctx.ran_at(Isa::kAvx512Vnni);
    return qconv_run<avx512vnni::Avx512VnniOps>(ctx);
  }
  layer_runs.fetch_add(1, std::memory_order_relaxed);
  qconv_run<AmxOps>(ctx);
}

}  // namespace qdq
