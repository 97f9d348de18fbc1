// Models derived from another GGUF model, for the verification study and its tests
// (docs/verification.md): the same architecture, vocabulary and metadata with
//   - its weight matrices re-quantized to another type (a "quantization downgrade": what a
//     miner saves by running Q4_0 weights while claiming the Q8_0 file), and/or
//   - small Gaussian noise added to every matrix (a "fine-tuned-like" neighbour of the model:
//     the closest thing to a substitute model that a cheater could pass off as the original).
// Only 2-D weight matrices change; norms and biases are copied. A matrix whose row length the
// target block type cannot hold (stories260K's ffn_down has 172 columns) keeps its type, as
// llama.cpp's quantizer does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"
#include "inference/gguf/kquant_mix.hpp"
#include "inference/gguf/writer.hpp"

namespace ig::gguf {

struct DeriveSpec {
  std::optional<TensorType> matrix_type;  // F32, F16, Q8_0, Q4_0, Q4_K, Q5_K or Q6_K; none: keep each matrix's type
  QuantMix mix = QuantMix::None;  // Q4_K_M / Q5_K_M (matrix_type Q4_K / Q5_K): per-tensor types, kquant_mix.hpp
  // Noise added to each matrix element: N(0, (noise * rms of that matrix)^2). 0: none.
  double noise = 0.0;
  uint64_t seed = 1;  // the noise is a pure function of (seed, tensor name, element index)
};

Expected<Writer> derive_model(const File& source, const DeriveSpec& spec);
Status write_derived_model(const std::string& source_path, const DeriveSpec& spec, const std::string& out_path);

}  // namespace ig::gguf
