#include "common/inference_receipt.hpp"

#include <cstring>

namespace ig {
namespace {

constexpr uint8_t kMagic[4] = {'I', 'G', 'R', 'C'};
constexpr size_t kFixedBytes = 170;  // everything before the backend tag

void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
// resize + memcpy rather than insert at end(): GCC 12 misreads the latter (see chain::append).
void put_bytes(std::vector<uint8_t>& b, const void* data, size_t n) {
  if (n == 0) return;
  const size_t old = b.size();
  b.resize(old + n);
  std::memcpy(b.data() + old, data, n);
}
void put_hash(std::vector<uint8_t>& b, const Hash32& h) { put_bytes(b, h.data(), h.size()); }

uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
Hash32 get_hash(const uint8_t* p) {
  Hash32 h;
  std::memcpy(h.data(), p, 32);
  return h;
}

}  // namespace

Hash32 fingerprint_leaf(uint32_t step, const Fingerprint& f) {
  uint8_t buf[16];
  const uint32_t words[4] = {step, static_cast<uint32_t>(f.token), static_cast<uint32_t>(f.logit_q),
                             static_cast<uint32_t>(f.runner_up_q)};
  for (int w = 0; w < 4; ++w)
    for (int i = 0; i < 4; ++i) buf[4 * w + i] = static_cast<uint8_t>(words[w] >> (8 * i));
  return merkle_leaf(buf);
}

std::vector<Hash32> fingerprint_leaves(std::span<const Fingerprint> fps) {
  std::vector<Hash32> leaves;
  leaves.reserve(fps.size());
  for (size_t i = 0; i < fps.size(); ++i) leaves.push_back(fingerprint_leaf(static_cast<uint32_t>(i), fps[i]));
  return leaves;
}

Hash32 fingerprint_root(std::span<const Fingerprint> fps) { return merkle_root(fingerprint_leaves(fps)); }

std::string backend_problem(std::string_view backend) {
  if (backend.empty() || backend.size() > kMaxBackendBytes) return "backend tag must be 1..32 bytes";
  for (char c : backend) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' || c == '-';
    if (!ok) return "backend tag may only hold a-z, 0-9 and . _ / -";
  }
  return "";
}

std::vector<uint8_t> encode_receipt(const InferenceReceipt& r) {
  std::vector<uint8_t> b;
  b.reserve(kFixedBytes + r.backend.size());
  put_bytes(b, kMagic, 4);
  b.push_back(kReceiptVersion);
  put_hash(b, r.model_id);
  put_hash(b, r.prompt_hash);
  put_hash(b, r.params_hash);
  put_hash(b, r.output_hash);
  put_hash(b, r.fingerprint_root);
  put_u32(b, r.steps);
  b.push_back(static_cast<uint8_t>(r.backend.size()));
  put_bytes(b, r.backend.data(), r.backend.size());
  return b;
}

Expected<InferenceReceipt> decode_receipt(std::span<const uint8_t> bytes) {
  if (bytes.size() < kFixedBytes + 1 || bytes.size() > kMaxReceiptBytes)
    return fail("receipt.bad_length", "a receipt is 171.." + std::to_string(kMaxReceiptBytes) + " bytes, got " +
                                          std::to_string(bytes.size()));
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) return fail("receipt.bad_magic", "not a receipt (magic)");
  if (bytes[4] != kReceiptVersion)
    return fail("receipt.bad_version", "unsupported receipt version " + std::to_string(bytes[4]));
  const uint8_t* p = bytes.data() + 5;
  InferenceReceipt r;
  r.model_id = get_hash(p);
  r.prompt_hash = get_hash(p + 32);
  r.params_hash = get_hash(p + 64);
  r.output_hash = get_hash(p + 96);
  r.fingerprint_root = get_hash(p + 128);
  r.steps = get_u32(p + 160);
  const size_t n = bytes[kFixedBytes - 1];
  if (bytes.size() != kFixedBytes + n) return fail("receipt.bad_length", "the backend tag's length does not match");
  r.backend.assign(reinterpret_cast<const char*>(bytes.data() + kFixedBytes), n);
  if (auto why = backend_problem(r.backend); !why.empty()) return fail("receipt.bad_backend", why);
  return r;
}

Hash32 receipt_id(const InferenceReceipt& r) { return sha256(encode_receipt(r)); }

Hash32 prompt_hash(std::string_view text) {
  return sha256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Hash32 output_hash(std::span<const uint32_t> tokens) {
  Sha256 h;
  for (uint32_t t : tokens) {
    uint8_t b[4] = {static_cast<uint8_t>(t), static_cast<uint8_t>(t >> 8), static_cast<uint8_t>(t >> 16),
                    static_cast<uint8_t>(t >> 24)};
    h.update(b);
  }
  return h.finish();
}

}  // namespace ig
