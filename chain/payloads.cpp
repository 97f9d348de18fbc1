#include "chain/payloads.hpp"

#include "chain/codec.hpp"
#include "chain/hash.hpp"

namespace ig::chain {

namespace {

// One put/get pair per payload; the field order here IS the wire format.
void put(Writer& w, const Transfer& t) {
  w.fixed(t.to);
  w.u64(t.amount);
  w.str(t.memo);
}
void get(Reader& r, Transfer& t) {
  t.to = r.fixed<32>();
  t.amount = r.u64();
  t.memo = r.str(kMaxMemoBytes);
}

StakeRole read_role(Reader& r) {
  uint8_t role = r.u8();
  if (role > 1) r.set_error("tx.bad_role", "stake role must be 0 (validator) or 1 (miner)");
  return static_cast<StakeRole>(role);
}

void put(Writer& w, const Stake& s) {
  w.u8(static_cast<uint8_t>(s.role));
  w.u64(s.amount);
}
void get(Reader& r, Stake& s) {
  s.role = read_role(r);
  s.amount = r.u64();
}
void put(Writer& w, const Unstake& s) {
  w.u8(static_cast<uint8_t>(s.role));
  w.u64(s.amount);
}
void get(Reader& r, Unstake& s) {
  s.role = read_role(r);
  s.amount = r.u64();
}

void put(Writer& w, const RegisterMiner& m) { encode_profile(w, m.profile); }
void get(Reader& r, RegisterMiner& m) { m.profile = read_profile(r); }
void put(Writer& w, const UpdateMiner& m) { encode_profile(w, m.profile); }
void get(Reader& r, UpdateMiner& m) { m.profile = read_profile(r); }

void put(Writer& w, const RegisterModel& m) {
  w.fixed(m.model_id);
  w.str(m.name);
  w.str(m.architecture);
  w.u64(m.price_per_token);
  w.u32(m.context_limit);
}
void get(Reader& r, RegisterModel& m) {
  m.model_id = r.fixed<32>();
  m.name = r.str(kMaxNameBytes);
  m.architecture = r.str(kMaxNameBytes);
  m.price_per_token = r.u64();
  m.context_limit = r.u32();
}

void put(Writer& w, const SubmitTask& t) {
  w.fixed(t.model_id);
  w.str(t.prompt);
  encode_sampling(w, t.params);
  w.u64(t.max_fee);
}
void get(Reader& r, SubmitTask& t) {
  t.model_id = r.fixed<32>();
  t.prompt = r.str(kMaxPromptBytes);
  t.params = read_sampling(r);
  t.max_fee = r.u64();
}

void put(Writer& w, const SubmitResult& s) {
  w.u64(s.task_id);
  w.u32(static_cast<uint32_t>(s.output_tokens.size()));
  for (uint32_t t : s.output_tokens) w.u32(t);
  w.u32(static_cast<uint32_t>(s.fingerprints.size()));
  for (const auto& f : s.fingerprints) encode_fingerprint(w, f);
  w.str(s.text);
  encode_inference_receipt(w, s.receipt);
}
void get(Reader& r, SubmitResult& s) {
  s.task_id = r.u64();
  s.output_tokens.resize(r.count(kMaxOutputTokens, 4));
  for (auto& t : s.output_tokens) t = r.u32();
  s.fingerprints.resize(r.count(kMaxOutputTokens, 12));
  for (auto& f : s.fingerprints) f = read_fingerprint(r);
  s.text = r.str(kMaxResultTextBytes);
  s.receipt = read_inference_receipt(r);
}

void put(Writer& w, const CancelTask& c) { w.u64(c.task_id); }
void get(Reader& r, CancelTask& c) { c.task_id = r.u64(); }

// Evidence is optional: a presence byte (0 or 1), then claimed | proof | recomputed, where a
// proof is index u64 | leaf_count u64 | sibling count u32 (at most kMaxProofSiblings) | 32 each.
void put(Writer& w, const Verdict& v) {
  w.u64(v.task_id);
  w.boolean(v.accept);
  w.u32(v.first_bad_step);
  w.str(v.reason);
  w.boolean(v.evidence.has_value());
  if (!v.evidence) return;
  encode_fingerprint(w, v.evidence->claimed);
  w.u64(v.evidence->proof.index);
  w.u64(v.evidence->proof.leaf_count);
  w.u32(static_cast<uint32_t>(v.evidence->proof.siblings.size()));
  for (const auto& h : v.evidence->proof.siblings) w.fixed(h);
  encode_fingerprint(w, v.evidence->recomputed);
}
void get(Reader& r, Verdict& v) {
  v.task_id = r.u64();
  v.accept = r.boolean();
  v.first_bad_step = r.u32();
  v.reason = r.str(kMaxReasonBytes);
  if (!r.boolean()) return;
  StepEvidence e;
  e.claimed = read_fingerprint(r);
  e.proof.index = r.u64();
  e.proof.leaf_count = r.u64();
  e.proof.siblings.resize(r.count(kMaxProofSiblings, 32));
  for (auto& h : e.proof.siblings) h = r.fixed<32>();
  e.recomputed = read_fingerprint(r);
  v.evidence = std::move(e);
}

void put(Writer& w, const CommitWeights& c) {
  w.u64(c.epoch);
  w.fixed(c.commit);
}
void get(Reader& r, CommitWeights& c) {
  c.epoch = r.u64();
  c.commit = r.fixed<32>();
}

void put_weights(Writer& w, const std::vector<WeightEntry>& ws) {
  w.u32(static_cast<uint32_t>(ws.size()));
  for (const auto& e : ws) {
    w.u16(e.uid);
    w.u16(e.weight);
  }
}
void put(Writer& w, const RevealWeights& rv) {
  w.u64(rv.epoch);
  put_weights(w, rv.weights);
  w.fixed(rv.salt);
}
void get(Reader& r, RevealWeights& rv) {
  rv.epoch = r.u64();
  rv.weights.resize(r.count(kMaxWeights, 4));
  for (auto& e : rv.weights) {
    e.uid = r.u16();
    e.weight = r.u16();
  }
  rv.salt = r.fixed<32>();
}

void get_vote(Reader& r, SignedVote& v) {
  v.type = r.u8();
  v.height = r.u64();
  v.round = r.u32();
  v.block_hash = r.fixed<32>();
  v.validator = r.fixed<32>();
  v.signature = r.fixed<64>();
}
void put(Writer& w, const Evidence& e) {
  encode_vote(w, e.a);
  encode_vote(w, e.b);
}
void get(Reader& r, Evidence& e) {
  get_vote(r, e.a);
  get_vote(r, e.b);
}

void put(Writer& w, const ProposeValidator& p) {
  w.fixed(p.consensus_key);
  w.fixed(p.account);
  w.str(p.name);
}
void get(Reader& r, ProposeValidator& p) {
  p.consensus_key = r.fixed<32>();
  p.account = r.fixed<32>();
  p.name = r.str(kMaxNameBytes);
}
void put(Writer& w, const ApproveValidator& a) { w.u64(a.proposal_id); }
void get(Reader& r, ApproveValidator& a) { a.proposal_id = r.u64(); }

template <size_t I = 0>
Payload read_by_tag(Reader& r, uint8_t tag) {
  if constexpr (I < std::variant_size_v<Payload>) {
    using T = std::variant_alternative_t<I, Payload>;
    if (T::kTag == tag) {
      T value;
      get(r, value);
      return value;
    }
    return read_by_tag<I + 1>(r, tag);
  } else {
    if (r.ok()) r.set_error("tx.unknown_payload", "unknown payload tag " + std::to_string(tag));
    return Transfer{};
  }
}

}  // namespace

std::string payload_name(const Payload& p) {
  static constexpr const char* kNames[] = {"Transfer",     "Stake",        "Unstake",       "RegisterMiner",
                                           "UpdateMiner",  "RegisterModel", "SubmitTask",   "SubmitResult",
                                           "CancelTask",   "Verdict",      "CommitWeights", "RevealWeights",
                                           "Evidence",     "ProposeValidator", "ApproveValidator"};
  static_assert(std::size(kNames) == std::variant_size_v<Payload>);
  return kNames[p.index()];
}

void encode_payload(Writer& w, const Payload& p) {
  std::visit([&](const auto& v) {
    w.u8(std::decay_t<decltype(v)>::kTag);
    put(w, v);
  }, p);
}

Payload read_payload(Reader& r) { return read_by_tag(r, r.u8()); }

void encode_sampling(Writer& w, const SamplingParams& p) { w.fixed(ig::encode_sampling_params(p)); }

SamplingParams read_sampling(Reader& r) {
  auto bytes = r.fixed<ig::kSamplingParamsBytes>();
  return ig::decode_sampling_params(bytes).value_or(SamplingParams{});  // 24 bytes always decode
}

void encode_inference_receipt(Writer& w, const ig::InferenceReceipt& rc) { w.bytes(ig::encode_receipt(rc)); }

ig::InferenceReceipt read_inference_receipt(Reader& r) {
  Bytes raw = r.bytes(ig::kMaxReceiptBytes);
  if (!r.ok()) return {};
  auto rc = ig::decode_receipt(raw);
  if (!rc) {
    r.set_error("codec.bad_receipt", rc.error().to_string());
    return {};
  }
  return std::move(*rc);
}

void encode_fingerprint(Writer& w, const ig::Fingerprint& f) {
  w.u32(static_cast<uint32_t>(f.token));
  w.u32(static_cast<uint32_t>(f.logit_q));
  w.u32(static_cast<uint32_t>(f.runner_up_q));
}

ig::Fingerprint read_fingerprint(Reader& r) {
  ig::Fingerprint f;
  f.token = static_cast<int32_t>(r.u32());
  f.logit_q = static_cast<int32_t>(r.u32());
  f.runner_up_q = static_cast<int32_t>(r.u32());
  return f;
}

void encode_profile(Writer& w, const MinerProfile& p) {
  w.str(p.gpu_class);
  w.u32(p.memory_mb);
  w.u32(p.max_concurrent);
  w.u32(static_cast<uint32_t>(p.models.size()));
  for (const auto& m : p.models) w.fixed(m);
}

MinerProfile read_profile(Reader& r) {
  MinerProfile p;
  p.gpu_class = r.str(kMaxNameBytes);
  p.memory_mb = r.u32();
  p.max_concurrent = r.u32();
  p.models.resize(r.count(kMaxServedModels, 32));
  for (auto& m : p.models) m = r.fixed<32>();
  return p;
}

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Sequence length, the lead byte's payload bits and the smallest code point that needs
    // this length (anything smaller is an overlong form).
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;  // a continuation byte without a lead, or 0xF8..0xFF
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string reason_problem(std::string_view reason) {
  if (reason.empty() || reason.size() > kMaxReasonBytes) return "a reason is 1.." + std::to_string(kMaxReasonBytes) + " bytes";
  for (char c : reason)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
      return "a reason may only hold a-z, 0-9, '.' and '_'";
  return "";
}

void encode_vote(Writer& w, const SignedVote& v) {
  w.u8(v.type);
  w.u64(v.height);
  w.u32(v.round);
  w.fixed(v.block_hash);
  w.fixed(v.validator);
  w.fixed(v.signature);
}

Hash weights_commit_hash(const Address& sender, uint64_t epoch, const std::vector<WeightEntry>& weights, const Hash& salt) {
  Writer w;
  w.fixed(sender);
  w.u64(epoch);
  put_weights(w, weights);
  w.fixed(salt);
  return sha256(w.data());
}

}  // namespace ig::chain
