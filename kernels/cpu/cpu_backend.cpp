#include "kernels/cpu/cpu_backend.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/interleave.hpp"
#include "kernels/reference/scalar_ops.hpp"

namespace ig::kernels {

namespace {
// Rows handled together so their weights stay in L1/L2 while every token
// group of a prefill batch streams past them.
constexpr int64_t kRowTile = 16;
// Below this many multiply-adds a job runs on the calling thread: waking the
// pool costs more than the work. (Which thread runs an item never changes
// its result, so this only affects speed.)
constexpr int64_t kMinParallelWork = 1 << 15;
}  // namespace

void CpuBackend::run(int64_t n, int64_t work_per_item, const cpu::ThreadPool::Fn& fn) {
  if (n * work_per_item < kMinParallelWork)
    fn(0, n);
  else
    pool_.parallel_for(n, fn);
}

CpuBackend::CpuBackend(int threads) : CpuBackend(threads, cpu::best_table()) {}

CpuBackend::CpuBackend(int threads, const cpu::DotTable& table) : dot_(table), pool_(std::max(1, threads)) {}

std::string CpuBackend::description() const {
  return std::string("cpu (") + dot_.name + ", " + std::to_string(pool_.size()) + " threads)";
}

std::string CpuBackend::numerics() const {
  return &dot_ == &cpu::scalar_table() ? kNumericsCpuScalar : kNumericsCpu;
}

void CpuBackend::matmul(const Weight& w, const float* x, int n_tokens, float* y) {
  if (w.type == DType::F32 || w.type == DType::F16)
    matmul_dense(w, x, n_tokens, y);
  else if (dtype_is_kquant(w.type) || dtype_is_q5(w.type))
    matmul_kquant(w, x, n_tokens, y);  // cpu_backend_kquants.cpp
  else
    matmul_quant(w, x, n_tokens, y);
}

void CpuBackend::matmul_shared(const Weight* const* ws, int count, const float* x, int n_tokens, float* const* ys) {
  sharing_ = true;
  acts_ = {};
  for (int i = 0; i < count; ++i) matmul(*ws[i], x, n_tokens, ys[i]);
  sharing_ = false;
  acts_ = {};
}

bool CpuBackend::prepared(Buffer what, const float* x, int n_tokens, int64_t cols) {
  if (!sharing_) return false;
  if (acts_.x != x || acts_.n_tokens != n_tokens || acts_.cols != cols) acts_ = {x, n_tokens, cols, 0};
  if (acts_.held & what) return true;
  acts_.held |= what;
  return false;
}

void CpuBackend::matmul_dense(const Weight& w, const float* x, int n_tokens, float* y) {
  const size_t rb = row_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const bool f32 = w.type == DType::F32;
  // Prefill: the gemm kernels (F16 rows converted once per row tile); from kGemmTokens tokens
  // on, that conversion costs less than the per-row kernels' conversions per token group. At 4
  // tokens (a miner decoding 4 tasks together) the per-row kernels are still faster: F16,
  // Qwen2.5-0.5B shape, 4 sequences, 23 -> 26 tok/s on one thread, 46 -> 48 on two.
  constexpr int kGemmTokens = 5;
  if (n_tokens >= kGemmTokens && (f32 ? dot_.f32_gemm != nullptr : dot_.f16_gemm != nullptr)) {
    // The activations copied to cache-line-aligned rows: the kernel's loads then never split.
    const int64_t xs = (w.cols + 15) / 16 * 16;
    xa_.resize(size_t(n_tokens * xs / 16));
    float* xa = xa_.data()->v;
    run(n_tokens, w.cols, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) std::copy_n(x + t * w.cols, w.cols, xa + t * xs);
    });
    const int64_t tiles = (w.rows + kRowTile - 1) / kRowTile;
    run(tiles, w.cols * n_tokens * kRowTile, [&](int64_t i0, int64_t i1) {
      const int64_t r0 = i0 * kRowTile, r1 = std::min(w.rows, i1 * kRowTile);
      const void* row = base + size_t(r0) * rb;
      if (f32)
        dot_.f32_gemm(static_cast<const float*>(row), r1 - r0, xa, xs, n_tokens, w.cols, y + r0, w.rows);
      else
        dot_.f16_gemm(static_cast<const uint16_t*>(row), r1 - r0, xa, xs, n_tokens, w.cols, y + r0, w.rows);
    });
    return;
  }
  run(w.rows, w.cols * n_tokens, [&](int64_t r0, int64_t r1) {
    for (int64_t rt = r0; rt < r1; rt += kRowTile) {
      const int64_t rend = std::min(r1, rt + kRowTile);
      for (int t0 = 0; t0 < n_tokens; t0 += cpu::kDenseTokens) {
        const int n = std::min(cpu::kDenseTokens, n_tokens - t0);
        const float* xt = x + size_t(t0) * w.cols;
        for (int64_t r = rt; r < rend; ++r) {
          float* out = y + size_t(t0) * w.rows + r;
          const void* row = base + size_t(r) * rb;
          if (f32)
            dot_.f32(static_cast<const float*>(row), xt, w.cols, n, w.cols, out, w.rows);
          else
            dot_.f16(static_cast<const uint16_t*>(row), xt, w.cols, n, w.cols, out, w.rows);
        }
      }
    }
  });
}

// Q8_0/Q4_0 (numerics cpu/3): the activations quantized to Q8_0 once, then row tiles on the
// pool. The full 16-row tiles of up to kGemvTokens tokens (decode) go through the AVX-512 gemv
// kernels, those of more tokens through the AMX tile kernels where the CPU has them (else the
// gemv kernels again, kGemvTokens tokens at a time), everything else through the vector
// kernels; all give the same bits. A matrix in Layout::Interleaved16 runs on the kernels made for
// that layout (decode; AMX prefill), or where the table has none, on each group regrouped back
// into rows.
void CpuBackend::matmul_quant(const Weight& w, const float* x, int n_tokens, float* y) {
  const int64_t nb = w.cols / kBlock;
  xq_.resize(size_t(nb) * n_tokens);
  const bool q4 = w.type == DType::Q4_0;
  if (!prepared(kXq, x, n_tokens, w.cols))
    run(n_tokens, w.cols, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) dot_.quantize_q8_0(x + size_t(t) * w.cols, w.cols, xq_.data() + size_t(t) * nb);
    });
  const bool amx = n_tokens > cpu::kGemvTokens && (q4 ? dot_.q4_0_gemm != nullptr : dot_.q8_0_gemm != nullptr);
  const bool x16 = w.layout == Layout::Interleaved16;
  // the kernels made for the regrouped layout, for this many tokens (else each group regrouped back)
  const bool x16_gemv = x16 && n_tokens <= cpu::kGemvTokens && (q4 ? dot_.q4_0x16_gemv != nullptr : dot_.q8_0x16_gemv != nullptr);
  const bool x16_gemm = x16 && n_tokens > cpu::kGemvTokens && (q4 ? dot_.q4_0x16_gemm != nullptr : dot_.q8_0x16_gemm != nullptr);
  const int groups = (n_tokens + cpu::kTileTokens - 1) / cpu::kTileTokens;
  if (x16_gemm) {
    token_rows_.resize(size_t(groups) * nb);
    if (!prepared(kTokenRows, x, n_tokens, w.cols))
      run(groups, nb * cpu::kTileTokens * 32, [&](int64_t g0, int64_t g1) {
        cpu::pack_token_rows(xq_.data(), n_tokens, nb, int(g0), int(g1), token_rows_.data());
      });
  } else if (amx) {
    tiles_.resize(size_t(groups) * nb);
    if (!prepared(kTiles, x, n_tokens, w.cols)) cpu::pack_token_tiles(xq_.data(), n_tokens, nb, tiles_.data());
  }
  const int64_t grouped = x16 ? interleaved_rows(w.rows) : 0;
  const size_t rb = row_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  // Work items are row tiles, so a thread's rows start on a tile boundary (regrouped: on a group).
  const int64_t tiles = (w.rows + kRowTile - 1) / kRowTile;
  run(tiles, w.cols * n_tokens * kRowTile, [&](int64_t i0, int64_t i1) {
    int64_t r0 = i0 * kRowTile;
    const int64_t r1 = std::min(w.rows, i1 * kRowTile);
    const int64_t g1 = std::min(r1, grouped);  // grouped rows of this range end here
    if ((x16_gemv || x16_gemm) && r0 < g1) {
      const uint8_t* units = base + size_t(r0) * rb;
      const int64_t ng = (g1 - r0) / 16;
      const auto* q4u = reinterpret_cast<const BlockQ4_0x16*>(units);
      const auto* q8u = reinterpret_cast<const BlockQ8_0x16*>(units);
      if (x16_gemv && q4) dot_.q4_0x16_gemv(q4u, ng, xq_.data(), n_tokens, nb, y + r0, w.rows);
      else if (x16_gemv) dot_.q8_0x16_gemv(q8u, ng, xq_.data(), n_tokens, nb, y + r0, w.rows);
      else if (q4) dot_.q4_0x16_gemm(q4u, ng, token_rows_.data(), n_tokens, nb, y + r0, w.rows);
      else dot_.q8_0x16_gemm(q8u, ng, token_rows_.data(), n_tokens, nb, y + r0, w.rows);
      r0 = g1;
    }
    if (r0 < g1) {  // each group regrouped into rows, then as below
      thread_local std::vector<uint8_t> rows;
      rows.resize(16 * rb);
      for (; r0 < g1; r0 += 16) {
        for (int r = 0; r < 16; ++r) gguf_row(w, r0 + r, rows.data() + r * rb);
        row_tiles(rows.data(), 16, n_tokens, amx, y + r0, w);
      }
    }
    // (the rows past the last whole group are fewer than 16: the vector kernels, never the tiles
    // left unpacked for a regrouped matrix)
    if (r0 < r1) row_tiles(base + size_t(r0) * rb, r1 - r0, n_tokens, amx && !x16, y + r0, w);
  });
}

// nr rows of w in GGUF order (row r at rows + r * row_bytes: a thread's share, or one group
// regrouped) times the activations in xq_ (tiles_ when amx): y[t*w.rows + r].
void CpuBackend::row_tiles(const uint8_t* rows, int64_t nr, int n_tokens, bool amx, float* y, const Weight& w) {
  const int64_t nb = w.cols / kBlock;
  const size_t rb = row_bytes(w.type, w.cols);
  int64_t r0 = 0;
  const int64_t r1 = nr;
  const bool q4 = w.type == DType::Q4_0;
  const bool gemv = !amx && (q4 ? dot_.q4_0_gemv != nullptr : dot_.q8_0_gemv != nullptr);
  if (gemv) {
    // Without AMX, an AVX-512 prefill runs the decode kernels on each 16-row tile for groups of
    // kGemvTokens tokens in turn, the tile's weights staying in cache between groups.
    const int64_t full = (r1 - r0) / 16 * 16;
    const int64_t tile = n_tokens <= cpu::kGemvTokens ? full : 16;  // decode: all rows in one call
    for (int64_t rt = r0; rt < r0 + full; rt += tile) {
      const uint8_t* row = rows + size_t(rt) * rb;
      for (int t0 = 0; t0 < n_tokens; t0 += cpu::kGemvTokens) {
        const int n = std::min(cpu::kGemvTokens, n_tokens - t0);
        const BlockQ8_0* xt = xq_.data() + size_t(t0) * nb;
        float* out = y + size_t(t0) * w.rows + rt;
        if (q4)
          dot_.q4_0_gemv(reinterpret_cast<const BlockQ4_0*>(row), nb, tile, xt, n, nb, out, w.rows);
        else
          dot_.q8_0_gemv(reinterpret_cast<const BlockQ8_0*>(row), nb, tile, xt, n, nb, out, w.rows);
      }
    }
    r0 += full;
  }
  if (amx) {
    const int64_t full = (r1 - r0) / 16 * 16;
    const uint8_t* row = rows + size_t(r0) * rb;
    if (q4)
      dot_.q4_0_gemm(reinterpret_cast<const BlockQ4_0*>(row), nb, full, tiles_.data(), n_tokens, nb, y + r0, w.rows);
    else
      dot_.q8_0_gemm(reinterpret_cast<const BlockQ8_0*>(row), nb, full, tiles_.data(), n_tokens, nb, y + r0, w.rows);
    r0 += full;
  }
  for (int64_t rt = r0; rt < r1; rt += kRowTile) {
    const int nr = int(std::min(r1, rt + kRowTile) - rt);
    const void* row = rows + size_t(rt) * rb;
    if (q4)
      dot_.q4_0(static_cast<const BlockQ4_0*>(row), nb, nr, xq_.data(), nb, n_tokens, nb, y + rt, w.rows);
    else
      dot_.q8_0(static_cast<const BlockQ8_0*>(row), nb, nr, xq_.data(), nb, n_tokens, nb, y + rt, w.rows);
  }
}

void CpuBackend::get_rows(const Weight& w, const int32_t* ids, int n, float* out) {
  for (int t = 0; t < n; ++t) scalar::dequantize_row(w, ids[t], out + size_t(t) * w.cols);
}

// The elementwise ops run on the pool by token (or by element range): each value is computed
// by the same operations whoever computes it, so the results are those of one thread.
void CpuBackend::rmsnorm(const float* x, const float* weight, int n_tokens, int dim, float eps,
                         float* out) {
  run(n_tokens, int64_t(dim) * 4, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* xt = x + size_t(t) * dim;
      const float ss = dot_.dot(xt, xt, dim);
      const float scale = 1.0f / std::sqrt(ss / float(dim) + eps);
      float* o = out + size_t(t) * dim;
      for (int i = 0; i < dim; ++i) o[i] = xt[i] * scale * weight[i];
    }
  });
}

void CpuBackend::rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
                      const RopeParams& p) {
  // per token: a sin/cos/pow per rotated pair, which dominates
  run(n_tokens, int64_t(p.rope_dim) * 32, [&](int64_t t0, int64_t t1) {
    scalar::rope(x + size_t(t0) * n_heads * head_dim, int(t1 - t0), n_heads, head_dim, positions + t0, p);
  });
}

// One (token, head) pair per work item: scores over keys 0..pos in key order,
// softmax with a sequential sum, values accumulated in key order.
void CpuBackend::attention(const float* q, const float* k_cache, const float* v_cache,
                           int n_tokens, const int32_t* positions, const AttentionShape& s,
                           float* out) {
  const int group = s.n_heads / s.n_kv_heads;
  const size_t kv_dim = size_t(s.n_kv_heads) * s.head_dim;
  const float scale = 1.0f / std::sqrt(float(s.head_dim));
  const int64_t keys = positions[n_tokens - 1] + 1;
  run(int64_t(n_tokens) * s.n_heads, keys * s.head_dim * 2, [&](int64_t i0, int64_t i1) {
    std::vector<float> scores, acc(size_t(s.head_dim));
    for (int64_t item = i0; item < i1; ++item) {
      const int t = int(item / s.n_heads), h = int(item % s.n_heads);
      const int n_keys = positions[t] + 1;
      scores.resize(size_t(n_keys));
      const float* qh = q + size_t(item) * s.head_dim;
      const size_t kv_off = size_t(h / group) * s.head_dim;
      float mx = -INFINITY;
      for (int j = 0; j < n_keys; ++j) {
        scores[j] = dot_.dot(qh, k_cache + j * kv_dim + kv_off, s.head_dim) * scale;
        mx = std::max(mx, scores[j]);
      }
      for (int j = 0; j < n_keys; ++j) scores[j] -= mx;
      dot_.exp_f32(scores.data(), n_keys);
      float sum = 0;
      for (int j = 0; j < n_keys; ++j) sum += scores[j];
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int j = 0; j < n_keys; ++j) dot_.axpy(scores[j], v_cache + j * kv_dim + kv_off, s.head_dim, acc.data());
      float* o = out + size_t(item) * s.head_dim;
      const float inv = 1.0f / sum;
      for (int i = 0; i < s.head_dim; ++i) o[i] = acc[i] * inv;
    }
  });
}

namespace {
constexpr int64_t kElemChunk = 1024;  // elements per work item of the flat elementwise ops
}

void CpuBackend::swiglu(const float* gate, const float* up, size_t n, float* out) {
  const int64_t items = (int64_t(n) + kElemChunk - 1) / kElemChunk;
  run(items, kElemChunk * 4, [&](int64_t i0, int64_t i1) {  // an expf per element
    const size_t b = size_t(i0 * kElemChunk), e = std::min(n, size_t(i1 * kElemChunk));
    dot_.swiglu(gate + b, up + b, int64_t(e - b), out + b);
  });
}
void CpuBackend::add_bias(float* x, const float* bias, int n_tokens, int dim) {
  run(n_tokens, dim, [&](int64_t t0, int64_t t1) {
    scalar::add_bias(x + size_t(t0) * dim, bias, int(t1 - t0), dim);
  });
}
void CpuBackend::add(float* x, const float* y, size_t n) {
  const int64_t items = (int64_t(n) + kElemChunk - 1) / kElemChunk;
  run(items, kElemChunk, [&](int64_t i0, int64_t i1) {
    const size_t b = size_t(i0 * kElemChunk), e = std::min(n, size_t(i1 * kElemChunk));
    scalar::add(x + b, y + b, e - b);
  });
}

}  // namespace ig::kernels
