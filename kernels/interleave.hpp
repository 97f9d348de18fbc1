// Layout::Interleaved16: Q4_0 and Q8_0 matrices regrouped by 16 rows (BlockQ4_0x16, BlockQ8_0x16,
// formats.hpp) for the AVX-512 and AMX kernels, and the way back to GGUF rows for every other
// reader (the reference and CUDA backends, the CPU kernels that take rows, embedding lookups).
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

// The types Layout::Interleaved16 applies to.
inline bool interleavable(DType t) { return t == DType::Q4_0 || t == DType::Q8_0; }

// Rows grouped by Layout::Interleaved16 (the whole groups), of a matrix with `rows` rows.
inline int64_t interleaved_rows(int64_t rows) { return rows / 16 * 16; }

// Regroups the rows x cols matrix of `type` (interleavable) at `data`, in GGUF row order, in
// place into Layout::Interleaved16.
void interleave(DType type, void* data, int64_t rows, int64_t cols);

// Row r (< 16) of one group (its nb units) back in GGUF form: nb blocks at out.
void group_row(const BlockQ4_0x16* group, int64_t nb, int r, BlockQ4_0* out);
void group_row(const BlockQ8_0x16* group, int64_t nb, int r, BlockQ8_0* out);

// Row r of w (any layout, Q4_0 or Q8_0) in GGUF form: row_bytes(w.type, w.cols) bytes at out.
void gguf_row(const Weight& w, int64_t r, void* out);

// The bytes of w in GGUF row order (a copy).
std::vector<uint8_t> rows_layout_bytes(const Weight& w);

}  // namespace ig::kernels
