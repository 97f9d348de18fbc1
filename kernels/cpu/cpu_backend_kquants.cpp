// CpuBackend::matmul for the K-quants (Q4_K, Q5_K, Q6_K) and their fallbacks Q5_0/Q5_1: each
// token's activations quantized to Q8_K (Q8_0 for Q5_0/Q5_1), then every (row, token) dot product by the kernels of dot_kquants.hpp. Work is split
// over tokens (quantization) and output rows (dots), never inside a dot product, and a token's
// result does not depend on which tile it shares, so any batch or thread count gives the same
// bits.
#include <algorithm>

#include "kernels/cpu/cpu_backend.hpp"
#include "kernels/cpu/dot_kquants.hpp"

namespace ig::kernels {

namespace {
constexpr int64_t kKRowTile = 16;  // rows per tile, so their weights stay cached across token groups

// The dots of output rows [r0, r1) for every token: tiles of kKRowTile rows, within each tile
// groups of kKQuantTokens tokens. dot(row bytes, first activation block of the group, tokens in
// the group, output of (row, first token)) computes one row against the group.
template <class ActBlock, class RowDot>
void dot_row_tiles(const Weight& w, const ActBlock* acts, int64_t blocks_per_row, int n_tokens, float* y,
                   int64_t r0, int64_t r1, const RowDot& dot) {
  const size_t rb = row_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t rt = r0; rt < r1; rt += kKRowTile) {
    const int64_t rend = std::min(r1, rt + kKRowTile);
    for (int t0 = 0; t0 < n_tokens; t0 += cpu::kKQuantTokens) {
      const int n = std::min(cpu::kKQuantTokens, n_tokens - t0);
      const ActBlock* xt = acts + size_t(t0) * blocks_per_row;
      for (int64_t r = rt; r < rend; ++r) dot(base + size_t(r) * rb, xt, n, y + size_t(t0) * w.rows + r);
    }
  }
}
}  // namespace

void CpuBackend::matmul_kquant(const Weight& w, const float* x, int n_tokens, float* y) {
  const cpu::KQuantTable& kq = cpu::kquant_table_for(dot_);
  if (dtype_is_q5(w.type)) return matmul_q5(kq, w, x, n_tokens, y);
  const int64_t nb = w.cols / kQK_K;
  xk_.resize(size_t(nb) * n_tokens);
  if (!prepared(kXk, x, n_tokens, w.cols))
    run(n_tokens, w.cols, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        quantize_row_q8_k(x + size_t(t) * w.cols, w.cols, xk_.data() + size_t(t) * nb);
    });
  // Q4_K/Q5_K/Q6_K prefill (more than kGemvTokens tokens) on AMX tiles where the CPU has them, the full
  // 16-row tiles; the rest, and decode, on the K-quant kernels (the same bits, dot.hpp).
  const bool amx = n_tokens > cpu::kGemvTokens && ((w.type == DType::Q4_K && dot_.q4_k_gemm != nullptr) ||
                                                    (w.type == DType::Q5_K && dot_.q5_k_gemm != nullptr) ||
                                                    (w.type == DType::Q6_K && dot_.q6_k_gemm != nullptr));
  if (amx) {
    ktiles_.resize(size_t((n_tokens + cpu::kTileTokens - 1) / cpu::kTileTokens) * nb);
    if (!prepared(kKTiles, x, n_tokens, w.cols)) cpu::pack_k_token_tiles(xk_.data(), n_tokens, nb, ktiles_.data());
  }
  const int64_t per_item = amx ? kKRowTile : 1;
  run((w.rows + per_item - 1) / per_item, w.cols * n_tokens * per_item, [&](int64_t i0, int64_t i1) {
    int64_t r0 = i0 * per_item;
    const int64_t r1 = std::min(w.rows, i1 * per_item);
    if (amx) {
      const int64_t full = (r1 - r0) / 16 * 16;
      const uint8_t* rows = static_cast<const uint8_t*>(w.data) + size_t(r0) * row_bytes(w.type, w.cols);
      if (w.type == DType::Q4_K)
        dot_.q4_k_gemm(reinterpret_cast<const BlockQ4_K*>(rows), nb, full, ktiles_.data(), n_tokens, nb, y + r0, w.rows);
      else if (w.type == DType::Q5_K)
        dot_.q5_k_gemm(reinterpret_cast<const BlockQ5_K*>(rows), nb, full, ktiles_.data(), n_tokens, nb, y + r0, w.rows);
      else
        dot_.q6_k_gemm(reinterpret_cast<const BlockQ6_K*>(rows), nb, full, ktiles_.data(), n_tokens, nb, y + r0, w.rows);
      r0 += full;
    }
    dot_row_tiles(w, xk_.data(), nb, n_tokens, y, r0, r1,
                  [&](const uint8_t* row, const BlockQ8_K* xt, int n, float* out) {
                    switch (w.type) {
                      case DType::Q4_K: kq.q4_k(reinterpret_cast<const BlockQ4_K*>(row), xt, nb, n, nb, out, w.rows); break;
                      case DType::Q5_K: kq.q5_k(reinterpret_cast<const BlockQ5_K*>(row), xt, nb, n, nb, out, w.rows); break;
                      default: kq.q6_k(reinterpret_cast<const BlockQ6_K*>(row), xt, nb, n, nb, out, w.rows); break;
                    }
                  });
  });
}

// Q5_0/Q5_1 rows (32-value blocks) with the activations quantized to Q8_0; the same split.
void CpuBackend::matmul_q5(const cpu::KQuantTable& kq, const Weight& w, const float* x, int n_tokens, float* y) {
  const int64_t nb = w.cols / kBlock;
  const bool q5_0 = w.type == DType::Q5_0;
  x5_.resize(size_t(nb) * n_tokens);
  x5sum_.resize(size_t(nb) * n_tokens * 8);
  if (!prepared(kX5, x, n_tokens, w.cols))  // the lane sums too, so a Q5_1 matrix leaves them for a Q5_0 one
    run(n_tokens, w.cols, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        dot_.quantize_q8_0(x + size_t(t) * w.cols, w.cols, x5_.data() + size_t(t) * nb);
        dot_.lane_sums(x5_.data() + size_t(t) * nb, nb, x5sum_.data() + size_t(t) * nb * 8);
      }
    });
  // Q5_0's full 16-row tiles of up to kGemvTokens tokens (decode) go through the AVX-512 gemv, of
  // more tokens through the AMX tile kernel where the CPU has it, else through the gemv again,
  // kGemvTokens tokens at a time per tile (the same bits, dot.hpp).
  const bool amx = q5_0 && n_tokens > cpu::kGemvTokens && dot_.q5_0_gemm != nullptr;
  const bool gemv = q5_0 && !amx && dot_.q5_0_gemv != nullptr;
  if (amx) {
    tiles5_.resize(size_t((n_tokens + cpu::kTileTokens - 1) / cpu::kTileTokens) * nb);
    if (!prepared(kTiles5, x, n_tokens, w.cols)) cpu::pack_token_tiles(x5_.data(), n_tokens, nb, tiles5_.data());
  }
  const int64_t items = amx || gemv ? (w.rows + kKRowTile - 1) / kKRowTile : w.rows;
  const int64_t per_item = amx || gemv ? kKRowTile : 1;
  run(items, w.cols * n_tokens * per_item, [&](int64_t i0, int64_t i1) {
    int64_t r0 = i0 * per_item;
    const int64_t r1 = std::min(w.rows, i1 * per_item);
    if (gemv) {
      const int64_t full = (r1 - r0) / 16 * 16;
      const int64_t tile = n_tokens <= cpu::kGemvTokens ? full : 16;  // decode: all rows in one call
      const auto* base = static_cast<const uint8_t*>(w.data);
      for (int64_t rt = r0; rt < r0 + full; rt += tile)
        for (int t0 = 0; t0 < n_tokens; t0 += cpu::kGemvTokens)
          dot_.q5_0_gemv(reinterpret_cast<const BlockQ5_0*>(base + size_t(rt) * row_bytes(w.type, w.cols)), nb, tile,
                         x5_.data() + size_t(t0) * nb, std::min(cpu::kGemvTokens, n_tokens - t0), nb,
                         y + size_t(t0) * w.rows + rt, w.rows);
      r0 += full;
    }
    if (amx) {
      const int64_t full = (r1 - r0) / 16 * 16;
      dot_.q5_0_gemm(reinterpret_cast<const BlockQ5_0*>(static_cast<const uint8_t*>(w.data) + size_t(r0) * row_bytes(w.type, w.cols)),
                     nb, full, tiles5_.data(), n_tokens, nb, y + r0, w.rows);
      r0 += full;
    }
    dot_row_tiles(w, x5_.data(), nb, n_tokens, y, r0, r1,
                  [&](const uint8_t* row, const BlockQ8_0* xt, int n, float* out) {
                    if (q5_0)
                      kq.q5_0(reinterpret_cast<const BlockQ5_0*>(row), xt,
                              x5sum_.data() + size_t(xt - x5_.data()) * 8, nb, n, nb, out, w.rows);
                    else
                      kq.q5_1(reinterpret_cast<const BlockQ5_1*>(row), xt, nb, n, nb, out, w.rows);
                  });
  });
}

}  // namespace ig::kernels
