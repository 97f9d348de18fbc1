#include "inference/gguf/kquant_mix.hpp"

#include <cstdio>

namespace ig::gguf {
namespace {

bool is_kquant(TensorType t) { return t == TensorType::Q4_K || t == TensorType::Q5_K || t == TensorType::Q6_K; }

bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// N of "blk.N.", or -1.
int layer_of(const std::string& name) {
  int n = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &n) != 1) return -1;
  return n;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Expected<MatrixQuant> parse_matrix_quant(std::string_view name) {
  if (name == "q4_k_m") return MatrixQuant{TensorType::Q4_K, QuantMix::Q4_K_M};
  if (name == "q5_k_m") return MatrixQuant{TensorType::Q5_K, QuantMix::Q5_K_M};
  if (name == "f32") return MatrixQuant{TensorType::F32, QuantMix::None};
  if (name == "f16") return MatrixQuant{TensorType::F16, QuantMix::None};
  if (name == "q8_0") return MatrixQuant{TensorType::Q8_0, QuantMix::None};
  if (name == "q4_0") return MatrixQuant{TensorType::Q4_0, QuantMix::None};
  if (name == "q4_k") return MatrixQuant{TensorType::Q4_K, QuantMix::None};
  if (name == "q5_k") return MatrixQuant{TensorType::Q5_K, QuantMix::None};
  if (name == "q6_k") return MatrixQuant{TensorType::Q6_K, QuantMix::None};
  return fail("gguf.bad_spec", "unknown matrix type '" + std::string(name) +
                                   "' (f32, f16, q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m, q5_k_m)");
}

uint32_t llama_file_type(const MatrixQuant& q) {
  if (q.mix == QuantMix::Q4_K_M) return 15;  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  if (q.mix == QuantMix::Q5_K_M) return 17;  // LLAMA_FTYPE_MOSTLY_Q5_K_M
  switch (q.type) {
    case TensorType::F16: return 1;
    case TensorType::Q4_0: return 2;
    case TensorType::Q8_0: return 7;
    case TensorType::Q4_K: return 14;  // MOSTLY_Q4_K_S, the nearest named type
    case TensorType::Q5_K: return 16;  // MOSTLY_Q5_K_S
    case TensorType::Q6_K: return 18;  // MOSTLY_Q6_K
    default: return 0;
  }
}

TensorType mix_tensor_type(const MatrixQuant& q, const std::string& name, uint32_t n_layers, bool has_output) {
  if (q.mix == QuantMix::None) return q.type;
  if (name == "output.weight" || (!has_output && name == "token_embd.weight")) return TensorType::Q6_K;
  const int layer = layer_of(name);
  const bool more = layer >= 0 && use_more_bits(layer, int(n_layers));
  if ((ends_with(name, "attn_v.weight") || ends_with(name, "ffn_down.weight")) && more) return TensorType::Q6_K;
  return q.type;
}

TensorType kquant_fallback(TensorType t, uint64_t ne0) {
  if (!is_kquant(t) || ne0 % 256 == 0) return t;
  if (ne0 % 32 != 0) return TensorType::F16;
  switch (t) {
    case TensorType::Q4_K: return TensorType::Q5_0;
    case TensorType::Q5_K: return TensorType::Q5_1;
    default: return TensorType::Q8_0;
  }
}

}  // namespace ig::gguf
