#include "inference/gguf/derive.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <vector>

#include "inference/gguf/quant.hpp"

namespace ig::gguf {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in (0, 1): never 0, so log() below is finite.
double open_uniform(uint64_t key, uint64_t index) {
  return (double(splitmix64(key ^ splitmix64(index)) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

// Box-Muller by hand rather than std::normal_distribution, whose algorithm the standard
// leaves open: the same seed gives the same model with any standard library.
double gaussian(uint64_t key, uint64_t index) {
  const double u1 = open_uniform(key, 2 * index), u2 = open_uniform(key, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t name_key(uint64_t seed, const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return splitmix64(h);
}

bool computable(TensorType t) {
  return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::Q8_0 || t == TensorType::Q4_0 ||
         t == TensorType::Q4_K || t == TensorType::Q5_K || t == TensorType::Q6_K || t == TensorType::Q5_0 ||
         t == TensorType::Q5_1;
}

// The number of blocks (blk.N.) of a model, for the K-quant mixes' per-layer rules.
uint32_t layer_count(const File& src) {
  uint32_t n = 0;
  for (const auto& t : src.tensors()) {
    unsigned layer = 0;
    if (std::sscanf(t.name.c_str(), "blk.%u.", &layer) == 1 && layer < (1u << 20)) n = std::max(n, layer + 1);
  }
  return n;
}

}  // namespace

Expected<Writer> derive_model(const File& src, const DeriveSpec& spec) {
  if (spec.matrix_type && !computable(*spec.matrix_type))
    return fail("gguf.bad_spec", "derived matrices must be f32, f16, q8_0, q4_0, q4_k, q5_k or q6_k");
  const MatrixQuant quant{spec.matrix_type.value_or(TensorType::F32), spec.mix};
  if (spec.mix != QuantMix::None && !spec.matrix_type) return fail("gguf.bad_spec", "a K-quant mix needs its base type");
  const uint32_t n_layers = layer_count(src);
  bool has_output = false;
  for (const auto& t : src.tensors()) has_output = has_output || t.name == "output.weight";
  if (!(spec.noise >= 0.0) || spec.noise > 1.0) return fail("gguf.bad_spec", "noise must be in [0, 1]");
  Writer w(src.version() >= 2 ? src.version() : 3, src.alignment());
  for (const auto& kv : src.metadata()) {
    if (kv.key == "general.alignment") continue;  // the writer adds it itself
    w.set(kv.key, kv.value);
  }
  if (spec.matrix_type) w.set("general.file_type", Value::of_u32(llama_file_type(quant)));
  for (const auto& t : src.tensors()) {
    const bool matrix = t.n_dims == 2 && computable(t.type);
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (!matrix || (!spec.matrix_type && spec.noise == 0.0)) {
      IG_TRY(w.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes)));
      continue;
    }
    TensorType out = spec.matrix_type ? kquant_fallback(mix_tensor_type(quant, t.name, n_layers, has_output), t.ne[0])
                                      : t.type;
    // The row does not fit the blocks: keep it.
    if (!row_bytes(out, t.ne[0]) || !computable(out)) out = t.type;
    const uint64_t cols = t.ne[0], rows = t.n_rows();
    IG_TRY_ASSIGN(in_row, row_bytes(t.type, cols));
    IG_TRY_ASSIGN(out_row, row_bytes(out, cols));
    std::vector<float> values(cols * rows);
    for (uint64_t r = 0; r < rows; ++r)
      IG_TRY(dequantize_row(t.type, t.data + r * in_row, values.data() + r * cols, int64_t(cols)));
    if (spec.noise > 0.0) {
      double sq = 0;
      for (float v : values) sq += double(v) * double(v);
      const double sd = spec.noise * std::sqrt(sq / double(values.size()));
      const uint64_t key = name_key(spec.seed, t.name);
      for (uint64_t i = 0; i < values.size(); ++i) values[i] = float(double(values[i]) + sd * gaussian(key, i));
    }
    std::vector<uint8_t> data(out_row * rows);
    for (uint64_t r = 0; r < rows; ++r)
      IG_TRY(quantize_row(out, values.data() + r * cols, data.data() + r * out_row, int64_t(cols)));
    IG_TRY(w.add_tensor(t.name, out, ne, std::move(data)));
  }
  return w;
}

Status write_derived_model(const std::string& source_path, const DeriveSpec& spec, const std::string& out_path) {
  IG_TRY_ASSIGN(src, File::open(source_path));
  IG_TRY_ASSIGN(w, derive_model(src, spec));
  return w.write_file(out_path);
}

}  // namespace ig::gguf
