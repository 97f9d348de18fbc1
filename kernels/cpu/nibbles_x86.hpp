// Q4_0/Q5_0 nibble unpacking shared by the AVX-512 decode kernels (gemv_x86_impl.hpp) and the
// AMX tile kernels (gemm_amx.cpp, gemm_amx_x16.cpp); all are compiled with AVX-512BW.
#pragma once

#include "kernels/cpu/intrinsics.hpp"

#include <cstdint>

namespace ig::kernels::cpu {

// Two rows' 16 packed bytes as 64 unsigned bytes, [low nibbles of row i, high nibbles of row i,
// the same of row j]: value k of each row at byte k of its 32 (llama.cpp's Q4_0 order: byte k of
// the block holds values k and k + 16). Each row's 16 bytes fill two 128-bit lanes; the odd
// lanes are shifted right by 4, then every byte is masked to its low nibble.
inline __m512i nibbles2(const uint8_t* row_i, const uint8_t* row_j) {
  const __m512i raw = _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row_i)))),
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row_j))), 1);
  const __m512i shift = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0, 0x0004000400040004,
                                         0x0004000400040004, 0, 0);
  return _mm512_and_si512(_mm512_srlv_epi16(raw, shift), _mm512_set1_epi8(0x0f));
}

// The same 64 bytes with one GF(2) affine map per 64-bit lane in place of the shift and the mask:
// "n & 0x0f" for the even 128-bit lanes, "n >> 4" for the odd ones (bit i of each result byte is
// the parity of matrix byte 7 - i AND n). Callers compile with GFNI enabled too and call it only
// where cpu_has_gfni().
__attribute__((target("gfni"))) inline __m512i nibbles2_gfni(const uint8_t* row_i, const uint8_t* row_j) {
  const __m512i raw = _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row_i)))),
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row_j))), 1);
  constexpr long long kLow = 0x0102040800000000, kHigh = 0x1020408000000000;
  const __m512i m = _mm512_set_epi64(kHigh, kHigh, kLow, kLow, kHigh, kHigh, kLow, kLow);
  return _mm512_gf2p8affine_epi64_epi8(raw, m, 0);
}

// The low and the high nibble of each of 64 packed bytes, as bytes: nibbles2_gfni's two maps over
// the whole register (Layout::Interleaved16, whose registers need no lane rearranging).
__attribute__((target("gfni"))) inline __m512i low_nibbles_gfni(__m512i raw) {
  return _mm512_gf2p8affine_epi64_epi8(raw, _mm512_set1_epi64(0x0102040800000000), 0);
}
__attribute__((target("gfni"))) inline __m512i high_nibbles_gfni(__m512i raw) {
  return _mm512_gf2p8affine_epi64_epi8(raw, _mm512_set1_epi64(0x1020408000000000), 0);
}
// The same by shift and mask, for AVX-512 CPUs without GFNI.
inline __m512i low_nibbles(__m512i raw) { return _mm512_and_si512(raw, _mm512_set1_epi8(0x0f)); }
inline __m512i high_nibbles(__m512i raw) { return _mm512_and_si512(_mm512_srli_epi16(raw, 4), _mm512_set1_epi8(0x0f)); }

}  // namespace ig::kernels::cpu
