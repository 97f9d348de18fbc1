#include "kernels/interleave.hpp"

#include <cstring>

namespace ig::kernels {

namespace {

// The unit of 16 rows of Block, and the bytes of quants per row in a block.
template <typename Block> struct UnitOf;
template <> struct UnitOf<BlockQ4_0> { using type = BlockQ4_0x16; };
template <> struct UnitOf<BlockQ8_0> { using type = BlockQ8_0x16; };
template <typename Block> constexpr int kQuantBytes = int(sizeof(Block::qs));

template <typename Block>
void interleave_rows(void* data, int64_t rows, int64_t nb) {
  using Unit = typename UnitOf<Block>::type;
  std::vector<Block> group(size_t(16 * nb));
  auto* units = static_cast<Unit*>(data);
  for (int64_t g = 0; g < rows / 16; ++g) {
    Unit* dst = units + g * nb;
    std::memcpy(group.data(), dst, group.size() * sizeof(Block));
    for (int64_t b = 0; b < nb; ++b)
      for (int r = 0; r < 16; ++r) {
        const Block& src = group[size_t(r * nb + b)];
        dst[b].d[r] = src.d;
        for (int q = 0; q < kQuantBytes<Block> / 4; ++q) std::memcpy(dst[b].qs + 64 * q + 4 * r, src.qs + 4 * q, 4);
      }
  }
}

template <typename Block, typename Unit>
void row_of_group(const Unit* group, int64_t nb, int r, Block* out) {
  for (int64_t b = 0; b < nb; ++b) {
    out[b].d = group[b].d[r];
    for (int q = 0; q < kQuantBytes<Block> / 4; ++q) std::memcpy(out[b].qs + 4 * q, group[b].qs + 64 * q + 4 * r, 4);
  }
}

}  // namespace

void interleave(DType type, void* data, int64_t rows, int64_t cols) {
  if (type == DType::Q4_0) interleave_rows<BlockQ4_0>(data, rows, cols / kBlock);
  if (type == DType::Q8_0) interleave_rows<BlockQ8_0>(data, rows, cols / kBlock);
}

void group_row(const BlockQ4_0x16* group, int64_t nb, int r, BlockQ4_0* out) { row_of_group(group, nb, r, out); }
void group_row(const BlockQ8_0x16* group, int64_t nb, int r, BlockQ8_0* out) { row_of_group(group, nb, r, out); }

void gguf_row(const Weight& w, int64_t r, void* out) {
  const int64_t nb = w.cols / kBlock;
  const size_t rb = row_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  if (w.layout != Layout::Interleaved16 || r >= interleaved_rows(w.rows)) {
    std::memcpy(out, base + size_t(r) * rb, rb);  // GGUF order
    return;
  }
  const uint8_t* group = base + size_t(r / 16 * 16) * rb;
  if (w.type == DType::Q4_0)
    group_row(reinterpret_cast<const BlockQ4_0x16*>(group), nb, int(r % 16), static_cast<BlockQ4_0*>(out));
  else
    group_row(reinterpret_cast<const BlockQ8_0x16*>(group), nb, int(r % 16), static_cast<BlockQ8_0*>(out));
}

std::vector<uint8_t> rows_layout_bytes(const Weight& w) {
  const size_t rb = row_bytes(w.type, w.cols);
  const auto* p = static_cast<const uint8_t*>(w.data);
  if (w.layout == Layout::Rows) return std::vector<uint8_t>(p, p + rb * size_t(w.rows));
  std::vector<uint8_t> out(rb * size_t(w.rows));
  for (int64_t r = 0; r < w.rows; ++r) gguf_row(w, r, out.data() + size_t(r) * rb);
  return out;
}

}  // namespace ig::kernels
