// Sampling parameters of an inference task: the one definition shared by the chain (the task
// and its params_hash) and the inference engine (the sampler and the receipt).
//
// Integers only: temperature and top-p are in thousandths, so what the chain hashes and what
// the engine uses are the same bytes on every machine. The engine converts to float inside
// inference (sampler.cpp), the same way everywhere.
//
// Canonical bytes (24, little-endian), the input of params_hash:
//   max_tokens u32 | temperature_milli u32 | top_k u32 | top_p_milli u32 | seed u64
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/sha256.hpp"

namespace ig {

struct SamplingParams {
  uint32_t max_tokens = 0;
  uint32_t temperature_milli = 0;  // 0 = greedy; 1000 = temperature 1.0
  uint32_t top_k = 0;              // 0 = no limit
  uint32_t top_p_milli = 1000;     // 1000 = no nucleus cut; must be 1..1000
  uint64_t seed = 0;               // keys the per-step draws (sampler.hpp)

  bool greedy() const { return temperature_milli == 0; }
  bool operator==(const SamplingParams&) const = default;
};

inline constexpr size_t kSamplingParamsBytes = 24;
inline constexpr uint32_t kMaxTemperatureMilli = 100'000;  // temperature 100: beyond it sampling is uniform noise

std::array<uint8_t, kSamplingParamsBytes> encode_sampling_params(const SamplingParams& p);
// nullopt unless `bytes` is exactly 24 bytes.
std::optional<SamplingParams> decode_sampling_params(std::span<const uint8_t> bytes);
// SHA-256 of the canonical bytes: what a task's and a receipt's params_hash are.
Hash32 sampling_params_hash(const SamplingParams& p);

// Why `p` cannot be run, or nullopt: max_tokens 0, top_p_milli outside 1..1000, temperature
// above kMaxTemperatureMilli.
std::optional<std::string> sampling_params_problem(const SamplingParams& p);

}  // namespace ig
