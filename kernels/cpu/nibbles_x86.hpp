// Q4_0/Q5_0 nibble unpacking shared by the AVX-512 one-token kernels (gemv_x86_impl.hpp) and the
// AMX tile kernels (gemm_amx.cpp); both TUs are compiled with AVX-512BW.
#pragma once

#include <immintrin.h>

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

}  // namespace ig::kernels::cpu
