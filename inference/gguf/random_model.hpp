// Random-weight llama/qwen2 models with llama.cpp's tensor names and metadata,
// for tests and benchmarks (infergrid-gguf make).
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"
#include "inference/gguf/kquant_mix.hpp"
#include "inference/gguf/writer.hpp"

namespace ig::gguf {

struct RandomModelSpec {
  std::string arch = "llama";  // "llama" (SPM vocab) or "qwen2" (byte-level BPE vocab, QKV biases)
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
  float rope_freq_base = 0.0f;        // 0: 10000 for llama, 1000000 for qwen2
};

// Checks shapes: divisibility of heads, even head_dim, block-size multiples, sane limits.
Status validate(const RandomModelSpec& spec);
Expected<Writer> build_random_model(const RandomModelSpec& spec);
Status write_random_model(const RandomModelSpec& spec, const std::string& path);

}  // namespace ig::gguf
