// Sparse Q32 matrices of the epoch (docs/yuma.md §1, §6): a row is a list of (column, value)
// entries in ascending column order. An absent entry and a present entry holding 0 behave
// alike except where the spec says otherwise (Yuma3 liquid alpha), so presence is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "contracts/yuma/fixed.hpp"

namespace ig::yuma {

struct Entry {
  std::uint32_t col = 0;
  q32 val = 0;
  friend bool operator==(const Entry&, const Entry&) = default;
};
using Row = std::vector<Entry>;
using Matrix = std::vector<Row>;

namespace sparse {

// Norm(v): each v_k ⊘ Σv; unchanged when Σv == 0.
std::vector<q32> normalized(std::vector<q32> v);
// Σ of raw values (exact, checked).
q32 sum(const std::vector<q32>& v);

// RowNorm: rows whose sum is > 0 are divided by it.
void row_normalize(Matrix& m);
// ColNorm over n columns: entries divided by their column sum (columns summing to 0 untouched).
void col_normalize(Matrix& m, std::size_t n);
// Divide each entry by its column maximum (columns with maximum 0 untouched).
void col_max_upscale(Matrix& m, std::size_t n);

std::vector<q32> row_sums(const Matrix& m);
// result_j = Σ_i s_i ⊗ m_ij (each product floored, then summed).
std::vector<q32> col_weighted_sums(const Matrix& m, const std::vector<q32>& s, std::size_t n);
// result_i = Σ_j v_j ⊗ m_ij.
std::vector<q32> row_weighted_sums(const Matrix& m, const std::vector<q32>& v);

// m_ij ⊗ s_i for every present entry (entries keep their presence).
Matrix scale_rows(const Matrix& m, const std::vector<q32>& s);
// min(m_ij, c_j); an entry above a threshold of 0 is removed instead.
Matrix col_clip(const Matrix& m, const std::vector<q32>& c);
// a + ratio ⊗ (b − a) over every column; ratio 0 → a and 1 → b unchanged; otherwise only
// entries > 0 are kept.
Matrix interpolate(const Matrix& a, const Matrix& b, q32 ratio);
// rate ⊗ next + (1 − rate) ⊗ prev over the union of entries, keeping entries > 0.
Matrix ema(const Matrix& next, const Matrix& prev, q32 rate);

}  // namespace sparse
}  // namespace ig::yuma
