// Per-tensor types of llama.cpp's K-quant mixes (Q4_K_M, Q5_K_M), for the files we write
// (infergrid-gguf make / derive --type q4_k_m). Follows llama.cpp's src/llama-quant.cpp,
// llama_tensor_get_type, for a dense (non-MoE, non-Falcon) llama/qwen model without an
// importance matrix:
//   - output.weight, and token_embd.weight when there is no output.weight (tied embeddings):
//     Q6_K (Q8_0 when its rows are not a multiple of 256);
//   - blk.N.attn_v.weight and blk.N.ffn_down.weight: Q6_K when use_more_bits(N, n_layers), i.e.
//     N < n/8 or N >= 7n/8 or (N - n/8) % 3 == 2; the base type otherwise;
//   - every other matrix (token_embd, attn_q/k/output, ffn_gate/up): the base type, Q4_K for
//     Q4_K_M and Q5_K for Q5_K_M;
//   - a row length that is not a multiple of 256 falls back as llama.cpp does: Q4_K -> Q5_0,
//     Q5_K -> Q5_1, Q6_K -> Q8_0, and to F16 when even 32 does not divide it.
// The pure K types (q4_k, q5_k, q6_k) give every matrix that type, as llama-quantize --pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"

namespace ig::gguf {

enum class QuantMix { None, Q4_K_M, Q5_K_M };

struct MatrixQuant {
  TensorType type = TensorType::F32;  // the base type (Q4_K for Q4_K_M, Q5_K for Q5_K_M)
  QuantMix mix = QuantMix::None;
};

// "f32", "f16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "q4_k_m", "q5_k_m".
Expected<MatrixQuant> parse_matrix_quant(std::string_view name);

// llama.cpp's llama_ftype (general.file_type) of a model quantized so.
uint32_t llama_file_type(const MatrixQuant& q);

// The type of the 2-D tensor `name` with rows of ne0 values in a model of n_layers blocks
// (has_output: a separate output.weight exists), before any fallback.
TensorType mix_tensor_type(const MatrixQuant& q, const std::string& name, uint32_t n_layers, bool has_output);

// llama.cpp's fallback for a K-quant whose rows (ne0 values) are not a multiple of 256; other
// types and fitting rows are returned as they are.
TensorType kquant_fallback(TensorType t, uint64_t ne0);

}  // namespace ig::gguf
