// One-token (decode) Q8_0/Q4_0 matmul of the AVX-512 variant, included by dot_x86_impl.hpp inside its IG_AVX512 part.
//
// Reduction order: that of the per-token kernels, fixed by `cols` alone. The two 8-lane
// accumulators of a (row, token), acc[0] for even blocks and acc[1] for odd ones, are the low
// and high halves of one zmm, and each step takes blocks 2j (low half) and 2j + 1 (high half):
// per half, the exact int32 lanes of one block (one dpbusd for both), then
// acc = fma(dw * dx, float(lanes), acc). A last even block, when the block count is odd,
// updates the low half only (a masked FMA). Then hsum(low + high) = hsum(acc[0] + acc[1]).
// Compared with the 256-bit kernel this halves the vector operations per block, and the
// weight scales come out of the same 64-byte load as the weight bytes (word permutes: every
// field of a block pair starts at an even byte).
#pragma once

namespace ig::kernels::cpu {
namespace {

// Word indices for the permutes, built once.
struct GemvIdx {
  __m512i q8_bytes, q8_dw, q4_bytes, q4_dw, single_dw;
  GemvIdx() {
    alignas(64) uint16_t b8[32], b4[32], w8[32], w4[32], ws[32];
    for (int i = 0; i < 32; ++i) {
      // Q8_0 pair at p: block 2j's qs at p + 2 .. 33 (words 1 .. 16 of a), block 2j + 1's in b
      // (loaded from p + 36)
      b8[i] = uint16_t(i < 16 ? 1 + i : 32 + (i - 16));
      // Q4_0 pair at p: 128-bit lanes 0, 1 = block 2j's 16 bytes (p + 2), lanes 2, 3 = 2j + 1's
      // (p + 20); lanes 1 and 3 are shifted to the high nibbles afterwards.
      b4[i] = uint16_t((i < 16 ? 1 : 10) + i % 8);
      w8[i] = uint16_t(i < 8 ? 0 : 17);  // d of block 2j at word 0, of 2j + 1 at byte 34
      w4[i] = uint16_t(i < 8 ? 0 : 9);   // ... at byte 18 for Q4_0
      ws[i] = 0;
    }
    q8_bytes = _mm512_load_si512(b8);
    q4_bytes = _mm512_load_si512(b4);
    q8_dw = _mm512_load_si512(w8);
    q4_dw = _mm512_load_si512(w4);
    single_dw = _mm512_load_si512(ws);
  }
};

inline __m512 gemv_dw(__m512i idx, __m512i a) {
  return _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx, a)));
}

struct Q8Gemv {
  static constexpr int64_t kBytes = sizeof(BlockQ8_0);
  // Blocks 2j, 2j + 1 at p: their bytes as the unsigned dpbusd operand (w + 128) and scales.
  static void pair(const GemvIdx& ix, const uint8_t* p, __m512i& wb, __m512& dw) {
    const __m512i a = _mm512_loadu_si512(p);  // p + 64 <= p + 68: inside the pair
    const __m512i b = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 36)));
    wb = _mm512_xor_si512(_mm512_permutex2var_epi16(a, ix.q8_bytes, b), _mm512_set1_epi8(char(0x80)));
    dw = gemv_dw(ix.q8_dw, a);
  }
  // A last single block at p (only its low half is used).
  static void single(const GemvIdx& ix, const uint8_t* p, __m512i& wb, __m512& dw) {
    const __m512i a = _mm512_maskz_loadu_epi8((1ull << kBytes) - 1, p);
    wb = _mm512_xor_si512(_mm512_permutexvar_epi16(ix.q8_bytes, a), _mm512_set1_epi8(char(0x80)));
    dw = gemv_dw(ix.single_dw, a);
  }
};

struct Q4Gemv {
  static constexpr int64_t kBytes = sizeof(BlockQ4_0);
  static __m512i nibbles(__m512i v) {
    const __m512i shift = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0,
                                           0x0004000400040004, 0x0004000400040004, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi16(v, shift), _mm512_set1_epi8(0x0f));
  }
  static void pair(const GemvIdx& ix, const uint8_t* p, __m512i& wb, __m512& dw) {
    // 36 bytes: masked, as the last pair of a tensor may end within 64 bytes of unmapped memory
    const __m512i a = _mm512_maskz_loadu_epi8((1ull << (2 * kBytes)) - 1, p);
    wb = nibbles(_mm512_permutexvar_epi16(ix.q4_bytes, a));
    dw = gemv_dw(ix.q4_dw, a);
  }
  static void single(const GemvIdx& ix, const uint8_t* p, __m512i& wb, __m512& dw) {
    const __m512i a = _mm512_maskz_loadu_epi8((1ull << kBytes) - 1, p);
    wb = nibbles(_mm512_permutexvar_epi16(ix.q4_bytes, a));
    dw = gemv_dw(ix.single_dw, a);
  }
};

// Prefetch distance in bytes: measured on Qwen2.5-0.5B shapes, 2-8 KB ahead left 15-25 % of the
// one-token speed unused, 32 KB was slower again.
constexpr int64_t kGemvAhead = 16384;

// R rows (rb bytes apart) times one token packed in block pairs x[0 .. (nb + 1) / 2): out[r].
template <int R, typename P>
void gemv_tile(const GemvIdx& ix, const uint8_t* w, int64_t rb, const PairBlock* x, int64_t nb, float* out) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  const int64_t np = nb / 2;
  for (int64_t j = 0; j < np; ++j) {
    const __m512i xq = _mm512_load_si512(x[j].qs);
    const __m512 dx = _mm512_load_ps(x[j].d);
    for (int r = 0; r < R; ++r) {
      __m512i wb;
      __m512 dw;
      // The weights come from memory in 4 KB pages, where the hardware prefetcher stops:
      // a software prefetch a fixed distance ahead in each row keeps the reads in flight.
      _mm_prefetch(reinterpret_cast<const char*>(w + r * rb + j * 2 * P::kBytes + kGemvAhead), _MM_HINT_T0);
      P::pair(ix, w + r * rb + j * 2 * P::kBytes, wb, dw);
      const __m512i s = _mm512_dpbusd_epi32(_mm512_load_si512(x[j].init), wb, xq);
      acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(s), acc[r]);
    }
  }
  if (nb % 2) {
    const __m512i xq = _mm512_load_si512(x[np].qs);
    const __m512 dx = _mm512_load_ps(x[np].d);
    for (int r = 0; r < R; ++r) {
      __m512i wb;
      __m512 dw;
      P::single(ix, w + r * rb + np * 2 * P::kBytes, wb, dw);
      const __m512i s = _mm512_dpbusd_epi32(_mm512_load_si512(x[np].init), wb, xq);
      acc[r] = _mm512_mask3_fmadd_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(s), acc[r], 0x00ff);
    }
  }
  for (int r = 0; r < R; ++r)
    out[r] = hsum(_mm256_add_ps(_mm512_castps512_ps256(acc[r]),
                                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r]), 1))));
}

constexpr int kGemvR = 4;

template <typename P>
void gemv(const uint8_t* w, int64_t rb, int64_t nr, const PairBlock* x, int64_t nb, float* out) {
  static const GemvIdx ix;
  int64_t r = 0;
  for (; r + kGemvR <= nr; r += kGemvR) gemv_tile<kGemvR, P>(ix, w + r * rb, rb, x, nb, out + r);
  for (; r < nr; ++r) gemv_tile<1, P>(ix, w + r * rb, rb, x, nb, out + r);
}

void q4_0_gemv(const BlockQ4_0* w, int64_t nr, const PairBlock* x, int64_t nb, float* out) {
  gemv<Q4Gemv>(reinterpret_cast<const uint8_t*>(w), nb * Q4Gemv::kBytes, nr, x, nb, out);
}
void q8_0_gemv(const BlockQ8_0* w, int64_t nr, const PairBlock* x, int64_t nb, float* out) {
  gemv<Q8Gemv>(reinterpret_cast<const uint8_t*>(w), nb * Q8Gemv::kBytes, nr, x, nb, out);
}

}  // namespace
}  // namespace ig::kernels::cpu
