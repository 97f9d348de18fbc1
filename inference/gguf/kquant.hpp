// Reference quantizers of the K-quants (Q4_K, Q5_K, Q6_K) for the files we write (make, derive),
// after llama.cpp's quantize_row_q{4,5,6}_K_ref; block layouts and dequantization in
// kernels/kquants.hpp. k: a multiple of 256.
#pragma once

#include <cstdint>

#include "kernels/kquants.hpp"
#include "kernels/q5_formats.hpp"

namespace ig::gguf {

void quantize_row_q4_k(const float* x, kernels::BlockQ4_K* y, int64_t k);
void quantize_row_q5_k(const float* x, kernels::BlockQ5_K* y, int64_t k);
void quantize_row_q6_k(const float* x, kernels::BlockQ6_K* y, int64_t k);
// Q5_0 / Q5_1 (the mixes' fallbacks), as ggml's quantize_row_q5_0_ref / q5_1_ref; k: a multiple of 32.
void quantize_row_q5_0(const float* x, kernels::BlockQ5_0* y, int64_t k);
void quantize_row_q5_1(const float* x, kernels::BlockQ5_1* y, int64_t k);

}  // namespace ig::gguf
