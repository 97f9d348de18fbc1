// AMX tile plumbing shared by the AMX kernels (gemm_amx.cpp, gemm_amx_kquants.cpp), which are
// compiled with -mamx-tile -mamx-int8.
#pragma once

#include <cstdint>

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

// The tile configuration is per thread; every kernel names its layout by a key, and the
// configuration is only loaded when the thread's current one has another key.
inline thread_local int current_layout = -1;
inline bool need_layout(int key) {
  if (current_layout == key) return false;
  current_layout = key;
  return true;
}

// 16 row accumulators whose lanes are tokens, written as out[t*os + r] for the first n tokens.
inline void store_by_token(const __m512 (&acc)[16], int n, float* out, int64_t os) {
  alignas(64) float res[16][16];
  for (int r = 0; r < 16; ++r) _mm512_store_ps(res[r], acc[r]);
  for (int t = 0; t < n; ++t)
    for (int r = 0; r < 16; ++r) out[t * os + r] = res[r][t];
}

}  // namespace ig::kernels::cpu::amx
