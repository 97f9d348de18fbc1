#include "chain/block.hpp"

#include <algorithm>

#include "chain/hash.hpp"
#include "chain/merkle.hpp"

namespace ig::chain {

namespace {

constexpr size_t kMaxErrorBytes = 1024;
constexpr size_t kMaxAttributes = 64;
constexpr size_t kMaxAttrBytes = 4096;

void write_header(Writer& w, const BlockHeader& h) {
  w.str(h.chain_id);
  w.u64(h.height);
  w.u64(h.time_ms);
  w.fixed(h.prev_hash);
  w.fixed(h.tx_root);
  w.fixed(h.receipts_root);
  w.fixed(h.state_root);
  w.fixed(h.proposer);
  w.fixed(h.validators_hash);
  w.fixed(h.last_commit_hash);
}

BlockHeader read_header(Reader& r) {
  BlockHeader h;
  h.chain_id = r.str(kMaxChainIdBytes);
  h.height = r.u64();
  h.time_ms = r.u64();
  h.prev_hash = r.fixed<32>();
  h.tx_root = r.fixed<32>();
  h.receipts_root = r.fixed<32>();
  h.state_root = r.fixed<32>();
  h.proposer = r.fixed<32>();
  h.validators_hash = r.fixed<32>();
  h.last_commit_hash = r.fixed<32>();
  return h;
}

void write_commit(Writer& w, const Commit& c) {
  w.u64(c.height);
  w.u32(c.round);
  w.fixed(c.block_hash);
  w.u32(static_cast<uint32_t>(c.signatures.size()));
  for (const auto& s : c.signatures) {
    w.fixed(s.validator);
    w.fixed(s.signature);
  }
}

Commit read_commit(Reader& r) {
  Commit c;
  c.height = r.u64();
  c.round = r.u32();
  c.block_hash = r.fixed<32>();
  uint32_t n = r.count(kMaxValidators, 96);
  c.signatures.resize(n);
  for (auto& s : c.signatures) {
    s.validator = r.fixed<32>();
    s.signature = r.fixed<64>();
  }
  return c;
}

void write_event(Writer& w, const Event& e) {
  w.str(e.type);
  w.u32(static_cast<uint32_t>(e.attributes.size()));
  for (const auto& a : e.attributes) {
    w.str(a.key);
    w.str(a.value);
  }
}

Event read_event(Reader& r) {
  Event e;
  e.type = r.str(kMaxAttrBytes);
  uint32_t n = r.count(kMaxAttributes, 8);
  e.attributes.resize(n);
  for (auto& a : e.attributes) {
    a.key = r.str(kMaxAttrBytes);
    a.value = r.str(kMaxAttrBytes);
  }
  return e;
}

template <typename T, typename ReadFn>
Expected<T> decode_whole(ByteView bytes, ReadFn read) {
  Reader r(bytes);
  T value = read(r);
  IG_TRY(r.finish());
  return value;
}

}  // namespace

std::string tx_code_name(TxCode c) {
  switch (c) {
    case TxCode::kOk: return "ok";
    case TxCode::kInsufficientFunds: return "insufficient_funds";
    case TxCode::kOverflow: return "overflow";
    case TxCode::kInvalidPayload: return "invalid_payload";
    case TxCode::kUnauthorized: return "unauthorized";
    case TxCode::kNotFound: return "not_found";
  }
  return "unknown";
}

Bytes encode_header(const BlockHeader& h) {
  Writer w;
  write_header(w, h);
  return std::move(w).take();
}

Hash block_hash(const BlockHeader& h) { return sha256(encode_header(h)); }

Bytes encode_block(const Block& b) {
  Writer w;
  write_header(w, b.header);
  w.u32(static_cast<uint32_t>(b.txs.size()));
  for (const auto& tx : b.txs) encode_tx(w, tx);
  write_commit(w, b.last_commit);
  return std::move(w).take();
}

Expected<Block> decode_block(ByteView bytes) {
  if (bytes.size() > kMaxBlockBytes) return fail("block.oversized", "block exceeds " + std::to_string(kMaxBlockBytes) + " bytes");
  return decode_whole<Block>(bytes, [](Reader& r) {
    Block b;
    b.header = read_header(r);
    uint32_t n = r.count(kMaxTxsPerBlock, 150);
    b.txs.reserve(n);
    for (uint32_t i = 0; i < n && r.ok(); ++i) b.txs.push_back(read_tx(r));
    b.last_commit = read_commit(r);
    return b;
  });
}

Bytes encode_commit(const Commit& c) {
  Writer w;
  write_commit(w, c);
  return std::move(w).take();
}

Expected<Commit> decode_commit(ByteView bytes) { return decode_whole<Commit>(bytes, read_commit); }

Hash commit_hash(const Commit& c) {
  if (c.height == 0 && c.signatures.empty()) return Hash{};
  return sha256(encode_commit(c));
}

Bytes encode_receipt(const Receipt& rc) {
  Writer w;
  w.fixed(rc.tx_hash);
  w.u64(rc.height);
  w.u32(rc.index);
  w.u32(static_cast<uint32_t>(rc.code));
  w.str(rc.error);
  w.u64(rc.fee_paid);
  w.u32(static_cast<uint32_t>(rc.events.size()));
  for (const auto& e : rc.events) write_event(w, e);
  return std::move(w).take();
}

Expected<Receipt> decode_receipt(ByteView bytes) {
  return decode_whole<Receipt>(bytes, [](Reader& r) {
    Receipt rc;
    rc.tx_hash = r.fixed<32>();
    rc.height = r.u64();
    rc.index = r.u32();
    uint32_t code = r.u32();
    if (code > static_cast<uint32_t>(TxCode::kNotFound)) r.set_error("receipt.bad_code", "unknown receipt code " + std::to_string(code));
    rc.code = static_cast<TxCode>(code);
    rc.error = r.str(kMaxErrorBytes);
    rc.fee_paid = r.u64();
    uint32_t n = r.count(kMaxEvents, 8);
    rc.events.resize(n);
    for (auto& e : rc.events) e = read_event(r);
    return rc;
  });
}

Bytes encode_validators(const std::vector<Validator>& vs) {
  Writer w;
  w.u32(static_cast<uint32_t>(vs.size()));
  for (const auto& v : vs) {
    w.fixed(v.consensus_key);
    w.fixed(v.account);
    w.u64(v.power);
    w.str(v.name);
  }
  return std::move(w).take();
}

Expected<std::vector<Validator>> decode_validators(ByteView bytes) {
  return decode_whole<std::vector<Validator>>(bytes, [](Reader& r) {
    std::vector<Validator> vs(r.count(kMaxValidators, 76));
    for (auto& v : vs) {
      v.consensus_key = r.fixed<32>();
      v.account = r.fixed<32>();
      v.power = r.u64();
      v.name = r.str(64);
    }
    return vs;
  });
}

Hash validators_hash(const std::vector<Validator>& vs) { return sha256(encode_validators(vs)); }

Hash tx_root(const std::vector<Transaction>& txs) {
  std::vector<Hash> leaves;
  leaves.reserve(txs.size());
  for (const auto& tx : txs) leaves.push_back(merkle_leaf(encode_tx(tx)));
  return merkle_root(leaves);
}

Hash receipts_root(const std::vector<Receipt>& receipts) {
  std::vector<Hash> leaves;
  leaves.reserve(receipts.size());
  for (const auto& rc : receipts) leaves.push_back(merkle_leaf(encode_receipt(rc)));
  return merkle_root(leaves);
}

Hash vote_signing_hash(std::string_view chain_id, uint8_t type, uint64_t height, uint32_t round, const Hash& block_hash) {
  Writer w;
  w.u8(type);  // prevote 1, precommit 2: the two can never be confused
  w.u64(height);
  w.u32(round);
  w.fixed(block_hash);
  return signing_hash(kTagVote, chain_id, w.data());
}

bool verify_vote(std::string_view chain_id, const SignedVote& v) {
  if (v.type != 1 && v.type != 2) return false;
  return verify_signature(v.validator, vote_signing_hash(chain_id, v.type, v.height, v.round, v.block_hash), v.signature);
}

CommitSig sign_precommit(const SecretKey& key, std::string_view chain_id, uint64_t height, uint32_t round,
                         const Hash& block_hash) {
  return CommitSig{key.public_key(), key.sign(vote_signing_hash(chain_id, height, round, block_hash))};
}

Status verify_commit(const Commit& c, std::string_view chain_id, const std::vector<Validator>& validators) {
  unsigned __int128 total = 0, signed_power = 0;
  for (const auto& v : validators) total += v.power;
  std::vector<PublicKey> seen;
  Hash msg = vote_signing_hash(chain_id, c.height, c.round, c.block_hash);
  for (const auto& s : c.signatures) {
    auto it = std::find_if(validators.begin(), validators.end(),
                           [&](const Validator& v) { return v.consensus_key == s.validator; });
    if (it == validators.end()) return fail("commit.unknown_signer", "commit signed by a key outside the validator set");
    if (std::find(seen.begin(), seen.end(), s.validator) != seen.end())
      return fail("commit.duplicate_signer", "a validator signed the commit twice");
    seen.push_back(s.validator);
    if (!verify_signature(s.validator, msg, s.signature)) return fail("commit.bad_signature", "precommit signature does not verify");
    signed_power += it->power;
  }
  if (signed_power * 3 <= total * 2) return fail("commit.insufficient_power", "commit carries no more than 2/3 of the voting power");
  return {};
}

}  // namespace ig::chain
