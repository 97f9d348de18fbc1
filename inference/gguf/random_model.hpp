// Random-weight llama/qwen2/qwen3 models with llama.cpp's tensor names and metadata,
// for tests and benchmarks (infergrid-gguf make).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"
#include "inference/gguf/kquant_mix.hpp"
#include "inference/gguf/writer.hpp"

namespace ig::gguf {

struct RandomModelSpec {
  std::string arch = "llama";  // "llama" (SPM vocab), "qwen2" (byte-level BPE vocab, QKV biases)
                               // or "qwen3" (BPE vocab, per-head Q/K RMSNorm, no biases)
  uint32_t dim = 64;
  uint32_t layers = 2;
  uint32_t heads = 4;
  uint32_t kv_heads = 4;
  uint32_t ffn = 128;
  uint32_t vocab = 512;
  uint32_t ctx = 256;
  TensorType type = TensorType::F32;  // matrices; norms and biases stay F32
  QuantMix mix = QuantMix::None;      // Q4_K_M / Q5_K_M (type Q4_K / Q5_K): per-tensor types, kquant_mix.hpp
  uint64_t seed = 1;
  bool tied = false;                  // omit output.weight (the embedding is reused)
  float rope_freq_base = 0.0f;        // 0: 10000 for llama (500000 with llama3 scaling), 1000000 for qwen
  uint32_t head_dim = 0;              // 0: dim / heads; otherwise written as attention.key_length /
                                      // value_length (qwen3 only, as Qwen3-0.6B: 128 with dim/heads 64)
  // "" or "llama3" (llama only): Llama 3.1's scaling, which llama.cpp's converter
  // (convert_hf_to_gguf.py, LlamaModel.generate_extra_tensors) stores as a rope_freqs tensor of
  // rope_dim/2 per-dimension frequency factors computed from these four numbers; no
  // rope.scaling.* key is written (llama.cpp would apply a "linear" type on top).
  std::string rope_scaling;
  float rope_factor = 8.0f;           // rope_scaling.factor
  float rope_low_freq_factor = 1.0f;
  float rope_high_freq_factor = 4.0f;
  uint32_t rope_orig_ctx = 8192;      // original_max_position_embeddings
};

// Llama 3.1's rope_freqs: for each of head_dim/2 frequencies base^(-2i/head_dim), factor for
// wavelengths beyond orig_ctx/low_freq_factor, 1 below orig_ctx/high_freq_factor, and a smooth
// blend between (convert_hf_to_gguf.py, the "llama3" rope_type branch).
std::vector<float> llama3_rope_freqs(const RandomModelSpec& spec);

// Checks shapes: divisibility of heads, even head_dim, block-size multiples, sane limits.
Status validate(const RandomModelSpec& spec);
Expected<Writer> build_random_model(const RandomModelSpec& spec);
Status write_random_model(const RandomModelSpec& spec, const std::string& path);

}  // namespace ig::gguf
