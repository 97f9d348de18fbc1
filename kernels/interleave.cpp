#include "kernels/interleave.hpp"

#include <cstring>

namespace ig::kernels {

namespace {

// One group's block b from its 16 rows' blocks (row r's at rows[r * nb + b]).
void pack_block(const BlockQ4_0* rows, int64_t nb, int64_t b, BlockQ4_0x16& out) {
  for (int r = 0; r < 16; ++r) {
    const BlockQ4_0& src = rows[r * nb + b];
    out.d[r] = src.d;
    for (int q = 0; q < 4; ++q) std::memcpy(out.qs + 64 * q + 4 * r, src.qs + 4 * q, 4);
  }
}

}  // namespace

void interleave_q4_0(void* data, int64_t rows, int64_t cols) {
  const int64_t nb = cols / kBlock;
  std::vector<BlockQ4_0> group(size_t(16 * nb));
  auto* units = static_cast<BlockQ4_0x16*>(data);
  for (int64_t g = 0; g < rows / 16; ++g) {
    BlockQ4_0x16* dst = units + g * nb;
    std::memcpy(group.data(), dst, group.size() * sizeof(BlockQ4_0));
    for (int64_t b = 0; b < nb; ++b) pack_block(group.data(), nb, b, dst[b]);
  }
}

void q4_0x16_row(const BlockQ4_0x16* group, int64_t nb, int r, BlockQ4_0* out) {
  for (int64_t b = 0; b < nb; ++b) {
    out[b].d = group[b].d[r];
    for (int q = 0; q < 4; ++q) std::memcpy(out[b].qs + 4 * q, group[b].qs + 64 * q + 4 * r, 4);
  }
}

void q4_0_row(const Weight& w, int64_t r, BlockQ4_0* out) {
  const int64_t nb = w.cols / kBlock;
  const auto* rows = static_cast<const BlockQ4_0*>(w.data);
  if (w.layout == Layout::Q4_0x16 && r < q4_0x16_grouped_rows(w.rows)) {
    q4_0x16_row(reinterpret_cast<const BlockQ4_0x16*>(rows) + r / 16 * nb, nb, int(r % 16), out);
    return;
  }
  std::memcpy(out, rows + r * nb, size_t(nb) * sizeof(BlockQ4_0));  // GGUF order
}

std::vector<uint8_t> rows_layout_bytes(const Weight& w) {
  const size_t rb = row_bytes(w.type, w.cols);
  const auto* p = static_cast<const uint8_t*>(w.data);
  if (w.layout == Layout::Rows) return std::vector<uint8_t>(p, p + rb * size_t(w.rows));
  std::vector<uint8_t> out(rb * size_t(w.rows));
  for (int64_t r = 0; r < w.rows; ++r) q4_0_row(w, r, reinterpret_cast<BlockQ4_0*>(out.data() + size_t(r) * rb));
  return out;
}

}  // namespace ig::kernels
