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
  encode_result_receipt(w, s.receipt);
}
void get(Reader& r, SubmitResult& s) {
  s.task_id = r.u64();
  s.output_tokens.resize(r.count(kMaxOutputTokens, 4));
  for (auto& t : s.output_tokens) t = r.u32();
  s.receipt = read_result_receipt(r);
}

void put(Writer& w, const CancelTask& c) { w.u64(c.task_id); }
void get(Reader& r, CancelTask& c) { c.task_id = r.u64(); }

void put(Writer& w, const Verdict& v) {
  w.u64(v.task_id);
  w.boolean(v.accept);
  w.u32(v.first_bad_step);
  w.bytes(v.evidence);
}
void get(Reader& r, Verdict& v) {
  v.task_id = r.u64();
  v.accept = r.boolean();
  v.first_bad_step = r.u32();
  v.evidence = r.bytes(kMaxEvidenceBytes);
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

void encode_sampling(Writer& w, const SamplingParams& p) {
  w.u32(p.max_tokens);
  w.u32(p.temperature_milli);
  w.u32(p.top_k);
  w.u32(p.top_p_milli);
  w.u64(p.seed);
}

SamplingParams read_sampling(Reader& r) {
  SamplingParams p;
  p.max_tokens = r.u32();
  p.temperature_milli = r.u32();
  p.top_k = r.u32();
  p.top_p_milli = r.u32();
  p.seed = r.u64();
  return p;
}

void encode_result_receipt(Writer& w, const ResultReceipt& rc) {
  w.fixed(rc.model_id);
  w.fixed(rc.prompt_hash);
  w.fixed(rc.params_hash);
  w.fixed(rc.output_hash);
  w.fixed(rc.fingerprint_root);
  w.u32(rc.steps);
}

ResultReceipt read_result_receipt(Reader& r) {
  ResultReceipt rc;
  rc.model_id = r.fixed<32>();
  rc.prompt_hash = r.fixed<32>();
  rc.params_hash = r.fixed<32>();
  rc.output_hash = r.fixed<32>();
  rc.fingerprint_root = r.fixed<32>();
  rc.steps = r.u32();
  return rc;
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

Hash sampling_params_hash(const SamplingParams& p) {
  Writer w;
  encode_sampling(w, p);
  return sha256(w.data());
}

Hash output_tokens_hash(const std::vector<uint32_t>& tokens) {
  Writer w;
  for (uint32_t t : tokens) w.u32(t);
  return sha256(w.data());
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
