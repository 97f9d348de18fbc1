// AMX tile plumbing shared by the AMX kernels (gemm_amx.cpp, gemm_amx_kquants.cpp,
// gemm_amx_x16.cpp), which are compiled with -mamx-tile -mamx-int8.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/cpu/intrinsics.hpp"

namespace ig::kernels::cpu::amx {

// LDTILECFG's 64-byte operand, palette 1.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// GCC 12's AMX intrinsics under-declare their memory operands: _tile_loadconfig names only 8
// bytes of the 64-byte configuration (so the compiler may drop the stores of the rest, and did)
// and _tile_loadd names none (so a store it reads may be moved past it). Both are written here
// with the whole operand, or a memory clobber; _tile_stored already has one.
inline void load_tile_config(const TileConfig& c) { __asm__ volatile("ldtilecfg %0" ::"m"(c)); }
#define IG_TILE_LOADD(dst, base, stride) \
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #dst ::"r"(static_cast<const void*>(base)), "r"(int64_t(stride)) : "memory")

// The tile configuration is per thread and outlives the kernel that loaded it. A kernel asks for
// the layout it runs on, and it is loaded unless it is the thread's current one, compared whole.
// (Kernels once named their layouts by numeric keys; two files' keys collided, and a kernel ran
// on another's layout: an illegal instruction or wrong sums.)
inline thread_local TileConfig current_config{};
inline thread_local bool config_loaded = false;
inline void use_layout(const TileConfig& c) {
  if (config_loaded && std::memcmp(&current_config, &c, sizeof c) == 0) return;
  load_tile_config(c);
  current_config = c;
  config_loaded = true;
}

// The next 16-row tile's weights (a row-major matrix's next 16 rows: one contiguous run of
// 16 * ws blocks) prefetched into L2 a share per block while this tile computes, so the weights
// stream instead of stalling the tile that reads them next (a burst of prefetches at the tile's
// start stalls on the memory queue instead).
struct Prefetch {
  const char* p = nullptr;  // null: nothing to prefetch
  int64_t share = 0;        // bytes per block, whole cache lines
  void block(int64_t b) const {
    for (int64_t o = b * share; o < (b + 1) * share; o += 64) _mm_prefetch(p + o, _MM_HINT_T1);
  }
  // For the tile after `tile` (16 rows of nb blocks, ws blocks apart).
  template <typename Block>
  static Prefetch next_tile(const Block* tile, int64_t ws, int64_t nb) {
    return {reinterpret_cast<const char*>(tile + 16 * ws), (16 * ws * int64_t(sizeof(Block)) + 64 * nb - 1) / (64 * nb) * 64};
  }
};

// 16 row accumulators whose lanes are tokens, written as out[t*os + r] for the first n tokens.
inline void store_by_token(const __m512 (&acc)[16], int n, float* out, int64_t os) {
  alignas(64) float res[16][16];
  for (int r = 0; r < 16; ++r) _mm512_store_ps(res[r], acc[r]);
  for (int t = 0; t < n; ++t)
    for (int r = 0; r < 16; ++r) out[t * os + r] = res[r][t];
}

}  // namespace ig::kernels::cpu::amx
