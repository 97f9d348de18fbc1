#include "common/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>
#include <vector>

namespace ig {

namespace {

// With EVP_sha256(), OpenSSL 3 looks the implementation up in the provider store on every
// digest init (EVP_MD_fetch, ~10% of a short hash); a block hashes each transaction several
// times, so the implementation is fetched once for the process. EVP_MD objects are immutable
// and safe to share between threads.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched ? fetched : EVP_sha256();
  }();
  return md;
}

// Each thread keeps the contexts it has used and re-initialises them. OpenSSL 3 takes a
// reference on the digest (an atomic on one object shared by every thread) when a context is
// created or set to a digest, and drops it when the context is freed; threads hashing short
// inputs (transactions, Merkle nodes) then take turns on that cache line, and two threads
// hashed 200-byte inputs no faster than one (EVP_Digest: 198 ns each alone, 177 ns with two
// threads; a reused context: 164 and 87 ns). Re-initialising a context already set to SHA-256
// takes no reference. bench_chain's "chain_tx_digests" line measures it.
class ContextCache {
 public:
  static constexpr size_t kKept = 8;  // more than any caller nests Sha256 objects
  ContextCache() { free_.reserve(kKept); }  // so that release never allocates
  ~ContextCache() {
    for (EVP_MD_CTX* c : free_) EVP_MD_CTX_free(c);
  }
  EVP_MD_CTX* take() {
    if (free_.empty()) return EVP_MD_CTX_new();
    EVP_MD_CTX* c = free_.back();
    free_.pop_back();
    return c;
  }
  void give(EVP_MD_CTX* c) {
    if (free_.size() < kKept) free_.push_back(c);
    else EVP_MD_CTX_free(c);
  }

 private:
  std::vector<EVP_MD_CTX*> free_;
};

thread_local ContextCache context_cache;

EVP_MD_CTX* acquire_context() {
  EVP_MD_CTX* ctx = context_cache.take();
  // Allocation or init failure of a built-in digest means the process is unusable.
  if (!ctx || EVP_DigestInit_ex(ctx, sha256_md(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::runtime_error("OpenSSL SHA-256 initialisation failed");
  }
  return ctx;
}

// A context may come back on another thread than took it (a Sha256 handed over): it is not
// tied to a thread, so that thread's cache keeps it.
void release_context(EVP_MD_CTX* ctx) { context_cache.give(ctx); }

}  // namespace

Sha256::Sha256() : ctx_(acquire_context()) {}

Sha256::~Sha256() { release_context(static_cast<EVP_MD_CTX*>(ctx_)); }

Sha256& Sha256::update(std::span<const uint8_t> data) {
  if (!data.empty()) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
  return *this;
}

Hash32 Sha256::finish() {
  Hash32 h{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h.data(), &len);
  return h;
}

Hash32 sha256(std::span<const uint8_t> data) {
  Sha256 s;
  s.update(data);
  return s.finish();
}

Hash32 sha256(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  Sha256 s;
  s.update(a).update(b);
  return s.finish();
}

}  // namespace ig
