#include "common/sampling.hpp"

namespace ig {
namespace {

void put_le(uint8_t* out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_le(const uint8_t* in, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | in[i];
  return v;
}

}  // namespace

std::array<uint8_t, kSamplingParamsBytes> encode_sampling_params(const SamplingParams& p) {
  std::array<uint8_t, kSamplingParamsBytes> out{};
  put_le(out.data() + 0, p.max_tokens, 4);
  put_le(out.data() + 4, p.temperature_milli, 4);
  put_le(out.data() + 8, p.top_k, 4);
  put_le(out.data() + 12, p.top_p_milli, 4);
  put_le(out.data() + 16, p.seed, 8);
  return out;
}

std::optional<SamplingParams> decode_sampling_params(std::span<const uint8_t> b) {
  if (b.size() != kSamplingParamsBytes) return std::nullopt;
  SamplingParams p;
  p.max_tokens = static_cast<uint32_t>(get_le(b.data() + 0, 4));
  p.temperature_milli = static_cast<uint32_t>(get_le(b.data() + 4, 4));
  p.top_k = static_cast<uint32_t>(get_le(b.data() + 8, 4));
  p.top_p_milli = static_cast<uint32_t>(get_le(b.data() + 12, 4));
  p.seed = get_le(b.data() + 16, 8);
  return p;
}

Hash32 sampling_params_hash(const SamplingParams& p) { return sha256(encode_sampling_params(p)); }

std::optional<std::string> sampling_params_problem(const SamplingParams& p) {
  if (p.max_tokens == 0) return "max_tokens must be at least 1";
  if (p.top_p_milli == 0 || p.top_p_milli > 1000) return "top_p must be within (0, 1], i.e. top_p_milli 1..1000";
  if (p.temperature_milli > kMaxTemperatureMilli) return "temperature must be at most 100 (temperature_milli 100000)";
  return std::nullopt;
}

}  // namespace ig
