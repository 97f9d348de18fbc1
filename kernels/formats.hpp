// Block layouts of the GGML tensor types the kernels read (as in GGUF files),
// and exact IEEE half <-> float conversion. Kept here, not in inference/gguf,
// because kernels/ sits below inference/ in the library order.
#pragma once

#include <cstdint>
#include <cstring>

namespace ig::kernels {

inline constexpr int kBlock = 32;  // elements per Q8_0 / Q4_0 block

#pragma pack(push, 1)
struct BlockQ8_0 {
  uint16_t d;         // fp16 scale
  int8_t qs[kBlock];  // value = d * qs[i]
};
struct BlockQ4_0 {
  uint16_t d;               // fp16 scale
  uint8_t qs[kBlock / 2];   // element i: low nibble of qs[i]; element i+16: high nibble; value = d*(n-8)
};
// Rows interleaved by 16 (Layout::Interleaved16, kernels/interleave.hpp): block b of rows
// 16g..16g+15 as one unit, so that a 512-bit register holds one 4-byte piece of each of the 16
// rows and dpbusd adds every row's products in its own lane, with no horizontal sums (and the
// AMX tiles take a unit's quants as their B operand). The same bytes as the 16 rows' blocks,
// permuted: d[r] is row r's scale, and dword r of chunk q (qs[64q + 4r .. 64q + 4r + 3]) is row
// r's qs[4q .. 4q + 3]. For Q4_0 those are values 4q..4q+3 in the low nibbles and 16+4q..16+4q+3
// in the high ones; for Q8_0, values 4q..4q+3. (llama.cpp's CPU repack, ggml-cpu/repack.cpp
// block_q4_0x8, interleaves 8 rows the same way for AVX2.)
struct BlockQ4_0x16 {
  uint16_t d[16];
  uint8_t qs[16 * kBlock / 2];
};
struct BlockQ8_0x16 {
  uint16_t d[16];
  int8_t qs[16 * kBlock];
};
#pragma pack(pop)
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_0x16) == 16 * sizeof(BlockQ4_0));
static_assert(sizeof(BlockQ8_0x16) == 16 * sizeof(BlockQ8_0));

inline float fp32_from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t fp32_to_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

// Exact half -> float (normals, subnormals, inf, nan).
inline float fp16_to_fp32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  if (exp == 0x1f) return fp32_from_bits(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    if (man == 0) return fp32_from_bits(sign);
    // subnormal: man * 2^-24
    float v = float(man) * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  return fp32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

// Round-to-nearest-even float -> half.
inline uint16_t fp32_to_fp16(float f) {
  uint32_t x = fp32_to_bits(f);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t ax = x & 0x7fffffff;
  if (ax >= 0x7f800000u) return uint16_t(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // overflow -> inf
  if (ax < 0x38800000u) {                                  // subnormal or zero in half
    float v = fp32_from_bits(ax) * 16777216.0f;             // scale to units of 2^-24
    uint32_t m = uint32_t(v);
    float rem = v - float(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1))) ++m;
    return uint16_t(sign | m);
  }
  uint32_t e = ((ax >> 23) - 112) << 10;
  uint32_t m = (ax >> 13) & 0x3ff;
  uint32_t h = e | m;
  uint32_t rest = ax & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return uint16_t(sign | h);
}

}  // namespace ig::kernels
