#include "inference/receipt/receipt.hpp"

#include <cstring>

namespace ig::receipt {
namespace {

constexpr uint8_t kMagic[4] = {'I', 'G', 'R', 'C'};

void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put_f32(std::vector<uint8_t>& b, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  put_u32(b, u);
}
void put_digest(std::vector<uint8_t>& b, const Digest& d) { b.insert(b.end(), d.begin(), d.end()); }

struct Reader {
  std::span<const uint8_t> b;
  size_t off = 0;
  uint32_t u32() { uint32_t v = 0; for (int i = 0; i < 4; ++i) v |= uint32_t(b[off + i]) << (8 * i); off += 4; return v; }
  uint64_t u64() { uint64_t v = 0; for (int i = 0; i < 8; ++i) v |= uint64_t(b[off + i]) << (8 * i); off += 8; return v; }
  float f32() { uint32_t u = u32(); float f; std::memcpy(&f, &u, 4); return f; }
  Digest digest() { Digest d; std::memcpy(d.data(), b.data() + off, 32); off += 32; return d; }
};

}  // namespace

bool Receipt::operator==(const Receipt& o) const { return encode(*this) == encode(o); }

std::vector<uint8_t> encode(const Receipt& r) {
  std::vector<uint8_t> b;
  b.reserve(kReceiptBytes);
  b.insert(b.end(), kMagic, kMagic + 4);
  b.push_back(kReceiptVersion);
  put_digest(b, r.model_id);
  put_digest(b, r.prompt_hash);
  put_u32(b, r.params.max_tokens);
  put_f32(b, r.params.temperature);
  put_u32(b, r.params.top_k);
  put_f32(b, r.params.top_p);
  put_u64(b, r.params.seed);
  put_digest(b, r.output_hash);
  put_digest(b, r.fingerprint_root);
  put_u32(b, r.steps);
  return b;
}

Expected<Receipt> decode(std::span<const uint8_t> bytes) {
  if (bytes.size() != kReceiptBytes)
    return fail("receipt.bad_length", "a receipt is " + std::to_string(kReceiptBytes) +
                                          " bytes, got " + std::to_string(bytes.size()));
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) return fail("receipt.bad_magic", "not a receipt (magic)");
  if (bytes[4] != kReceiptVersion)
    return fail("receipt.bad_version", "unsupported receipt version " + std::to_string(bytes[4]));
  Reader rd{bytes, 5};
  Receipt r;
  r.model_id = rd.digest();
  r.prompt_hash = rd.digest();
  r.params.max_tokens = rd.u32();
  r.params.temperature = rd.f32();
  r.params.top_k = rd.u32();
  r.params.top_p = rd.f32();
  r.params.seed = rd.u64();
  r.output_hash = rd.digest();
  r.fingerprint_root = rd.digest();
  r.steps = rd.u32();
  IG_TRY(engine::validate(r.params));
  if (r.steps > r.params.max_tokens)
    return fail("receipt.bad_steps", "receipt claims more steps than max_tokens");
  return r;
}

Digest receipt_id(const Receipt& r) { return sha256(encode(r)); }

std::vector<Digest> leaf_hashes(std::span<const Fingerprint> fps) {
  std::vector<Digest> leaves;
  leaves.reserve(fps.size());
  for (size_t i = 0; i < fps.size(); ++i) leaves.push_back(leaf_hash(uint32_t(i), fps[i]));
  return leaves;
}

Receipt make_receipt(const Digest& model_id, std::span<const int32_t> prompt,
                     const engine::SamplingParams& params, std::span<const int32_t> output,
                     std::span<const Fingerprint> fingerprints) {
  Receipt r;
  r.model_id = model_id;
  r.prompt_hash = token_hash(prompt);
  r.params = params;
  r.output_hash = token_hash(output);
  r.fingerprint_root = merkle_root(leaf_hashes(fingerprints));
  r.steps = uint32_t(output.size());
  return r;
}

}  // namespace ig::receipt
