#include "contracts/yuma/sparse.hpp"

#include <algorithm>

namespace ig::yuma::sparse {
namespace {

// Walks two ascending rows in column order, calling f(col, a_val, b_val) with 0 for a missing side.
template <typename F>
void merge_rows(const Row& a, const Row& b, F&& f) {
  std::size_t i = 0, k = 0;
  while (i < a.size() || k < b.size()) {
    if (k == b.size() || (i < a.size() && a[i].col < b[k].col)) {
      f(a[i].col, a[i].val, q32{0});
      ++i;
    } else if (i == a.size() || b[k].col < a[i].col) {
      f(b[k].col, q32{0}, b[k].val);
      ++k;
    } else {
      f(a[i].col, a[i].val, b[k].val);
      ++i;
      ++k;
    }
  }
}

}  // namespace

q32 sum(const std::vector<q32>& v) {
  q32 s = 0;
  for (q32 x : v) s = fx::add_checked(s, x);
  return s;
}

std::vector<q32> normalized(std::vector<q32> v) {
  const q32 total = sum(v);
  if (total == 0) return v;
  for (q32& x : v) x = fx::div_safe(x, total);
  return v;
}

void row_normalize(Matrix& m) {
  for (Row& row : m) {
    q32 total = 0;
    for (const Entry& e : row) total = fx::add_checked(total, e.val);
    if (total <= 0) continue;
    for (Entry& e : row) e.val = fx::div_safe(e.val, total);
  }
}

void col_normalize(Matrix& m, std::size_t n) {
  std::vector<q32> col_sum(n, 0);
  for (const Row& row : m)
    for (const Entry& e : row) col_sum[e.col] = fx::add_checked(col_sum[e.col], e.val);
  for (Row& row : m)
    for (Entry& e : row)
      if (col_sum[e.col] != 0) e.val = fx::div_safe(e.val, col_sum[e.col]);
}

void col_max_upscale(Matrix& m, std::size_t n) {
  std::vector<q32> col_max(n, 0);
  for (const Row& row : m)
    for (const Entry& e : row) col_max[e.col] = std::max(col_max[e.col], e.val);
  for (Row& row : m)
    for (Entry& e : row)
      if (col_max[e.col] != 0) e.val = fx::div_safe(e.val, col_max[e.col]);
}

std::vector<q32> row_sums(const Matrix& m) {
  std::vector<q32> out(m.size(), 0);
  for (std::size_t i = 0; i < m.size(); ++i)
    for (const Entry& e : m[i]) out[i] = fx::add_checked(out[i], e.val);
  return out;
}

std::vector<q32> col_weighted_sums(const Matrix& m, const std::vector<q32>& s, std::size_t n) {
  std::vector<q32> out(n, 0);
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (s[i] == 0) continue;  // every product would be 0
    for (const Entry& e : m[i]) out[e.col] = fx::add_checked(out[e.col], fx::mul(s[i], e.val));
  }
  return out;
}

std::vector<q32> row_weighted_sums(const Matrix& m, const std::vector<q32>& v) {
  std::vector<q32> out(m.size(), 0);
  for (std::size_t i = 0; i < m.size(); ++i)
    for (const Entry& e : m[i]) out[i] = fx::add_checked(out[i], fx::mul(v[e.col], e.val));
  return out;
}

Matrix scale_rows(const Matrix& m, const std::vector<q32>& s) {
  Matrix out(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) {
    out[i].reserve(m[i].size());
    for (const Entry& e : m[i]) out[i].push_back({e.col, fx::mul(e.val, s[i])});
  }
  return out;
}

Matrix col_clip(const Matrix& m, const std::vector<q32>& c) {
  Matrix out(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) {
    for (const Entry& e : m[i]) {
      const q32 limit = c[e.col];
      if (limit < e.val) {
        if (limit > 0) out[i].push_back({e.col, limit});
      } else {
        out[i].push_back(e);
      }
    }
  }
  return out;
}

Matrix interpolate(const Matrix& a, const Matrix& b, q32 ratio) {
  if (ratio == 0) return a;
  if (ratio == kOne) return b;
  Matrix out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    // Columns absent from both rows interpolate to 0 and are dropped, so the union suffices.
    merge_rows(a[i], b[i], [&](std::uint32_t col, q32 va, q32 vb) {
      const q32 v = fx::add_sat(va, fx::mul(ratio, fx::sub_sat(vb, va)));
      if (v > 0) out[i].push_back({col, v});
    });
  }
  return out;
}

Matrix ema(const Matrix& next, const Matrix& prev, q32 rate) {
  const q32 keep = fx::sub_sat(kOne, rate);
  Matrix out(next.size());
  for (std::size_t i = 0; i < next.size(); ++i) {
    merge_rows(next[i], prev[i], [&](std::uint32_t col, q32 vn, q32 vp) {
      const q32 v = fx::add_sat(fx::mul(rate, vn), fx::mul(keep, vp));
      if (v > 0) out[i].push_back({col, v});
    });
  }
  return out;
}

}  // namespace ig::yuma::sparse
