// Layout::Q4_0x16: Q4_0 matrices regrouped by 16 rows (BlockQ4_0x16, formats.hpp) for the
// AVX-512 decode kernels, and the way back to GGUF rows for every other reader (the reference
// and CUDA backends, the CPU kernels that take rows, embedding lookups).
//
// The regrouping is a permutation of the bytes of each whole group of 16 rows, done in place at
// model load: it needs no memory beyond one group, and the rows past the last whole group stay
// as they are.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/formats.hpp"
#include "kernels/kernels.hpp"

namespace ig::kernels {

// Rows grouped by Layout::Q4_0x16 (the whole groups), of a matrix with `rows` rows.
inline int64_t q4_0x16_grouped_rows(int64_t rows) { return rows / 16 * 16; }

// Regroups rows*cols Q4_0 values at `data` (GGUF row order; cols a multiple of 32) in place into
// Layout::Q4_0x16.
void interleave_q4_0(void* data, int64_t rows, int64_t cols);

// Row r (< 16) of one group (its nb BlockQ4_0x16 units) back in GGUF form: out[0..nb).
void q4_0x16_row(const BlockQ4_0x16* group, int64_t nb, int r, BlockQ4_0* out);

// Row r of w (any layout, Q4_0) in GGUF form: out[0..cols/32).
void q4_0_row(const Weight& w, int64_t r, BlockQ4_0* out);

// The bytes of w in GGUF row order (a copy; for Layout::Rows simply the bytes).
std::vector<uint8_t> rows_layout_bytes(const Weight& w);

}  // namespace ig::kernels
