#include "contracts/registry.hpp"

#include <algorithm>
#include <set>

#include "contracts/kv.hpp"
#include "contracts/staking.hpp"

namespace ig::contracts::registry {

namespace {

using chain::StatePrefix;

kv::Bytes miner_key(const Address& a) { return kv::key(StatePrefix::kRegistry, 'm', {a}); }
kv::Bytes model_key(const chain::Hash& id) { return kv::key(StatePrefix::kRegistry, 'M', {id}); }
kv::Bytes account_uid_key(const Address& a) { return kv::key(StatePrefix::kRegistry, 'a', {a}); }

Miner read_miner(chain::Reader& r) {
  Miner m;
  m.account = r.fixed<32>();
  m.profile = chain::read_profile(r);
  m.uid = r.u64();
  m.registered_height = r.u64();
  m.reliability = r.u16();
  m.latency_milli = r.u64();
  m.open_tasks = r.u32();
  m.completed = r.u64();
  m.failed = r.u64();
  return m;
}

Model read_model(chain::Reader& r) {
  Model m;
  m.id = r.fixed<32>();
  m.name = r.str(chain::kMaxNameBytes);
  m.architecture = r.str(chain::kMaxNameBytes);
  m.price_per_token = r.u64();
  m.context_limit = r.u32();
  m.registered_by = r.fixed<32>();
  m.registered_height = r.u64();
  return m;
}

bool printable(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

Status validate_profile(const State& s, const chain::MinerProfile& p) {
  if (!printable(p.gpu_class)) return fail("registry.bad_profile", "gpu_class must be non-empty printable ASCII");
  if (p.max_concurrent < 1 || p.max_concurrent > kMaxConcurrent)
    return fail("registry.bad_profile", "max_concurrent must be within 1.." + std::to_string(kMaxConcurrent));
  if (p.models.empty()) return fail("registry.bad_profile", "a miner must serve at least one model");
  std::set<chain::Hash> seen;
  for (const auto& id : p.models) {
    if (!seen.insert(id).second) return fail("registry.bad_profile", "model " + chain::to_hex(id) + " listed twice");
    if (!get_model(s, id)) return fail("registry.unknown_model", "model " + chain::to_hex(id) + " is not registered");
  }
  return {};
}

}  // namespace

std::optional<Miner> get_miner(const State& s, const Address& a) { return kv::load<Miner>(s, miner_key(a), read_miner); }

void put_miner(State& s, const Miner& m) {
  chain::Writer w;
  w.fixed(m.account);
  chain::encode_profile(w, m.profile);
  w.u64(m.uid);
  w.u64(m.registered_height);
  w.u16(m.reliability);
  w.u64(m.latency_milli);
  w.u32(m.open_tasks);
  w.u64(m.completed);
  w.u64(m.failed);
  s.put(miner_key(m.account), w.data());
}

std::vector<Miner> all_miners(const State& s) {
  std::vector<Miner> out;
  s.scan(kv::key(StatePrefix::kRegistry, 'm'), [&](chain::ByteView, chain::ByteView v) {
    chain::Reader r(v);
    out.push_back(read_miner(r));
    return true;
  });
  return out;
}

std::optional<Model> get_model(const State& s, const chain::Hash& id) { return kv::load<Model>(s, model_key(id), read_model); }

std::vector<Model> all_models(const State& s) {
  std::vector<Model> out;
  s.scan(kv::key(StatePrefix::kRegistry, 'M'), [&](chain::ByteView, chain::ByteView v) {
    chain::Reader r(v);
    out.push_back(read_model(r));
    return true;
  });
  return out;
}

Expected<void> register_miner(State& s, const Params& p, uint64_t height, const Address& who,
                              const chain::MinerProfile& profile, std::vector<Event>& events) {
  if (get_miner(s, who)) return fail("registry.already_registered", "this account is already a miner; use UpdateMiner");
  IG_TRY(validate_profile(s, profile));
  auto stake = staking::get_stakes(s, who).miner;
  if (stake < p.min_miner_stake)
    return fail("registry.stake_below_minimum", "miner stake " + std::to_string(stake) + " is below the minimum " +
                                                    std::to_string(p.min_miner_stake) + "; stake first");
  IG_TRY_ASSIGN(uid, ensure_uid(s, who, Role::kMiner));
  Miner m;
  m.account = who;
  m.profile = profile;
  m.uid = uid;
  m.registered_height = height;
  m.latency_milli = p.result_timeout_blocks * 1000 / 2;  // neutral prior: half the deadline
  put_miner(s, m);
  events.push_back(Event{"miner_registered", {{"account", chain::address_to_string(who)}, {"uid", std::to_string(uid)}}});
  return {};
}

Expected<void> update_miner(State& s, const Address& who, const chain::MinerProfile& profile, std::vector<Event>& events) {
  auto m = get_miner(s, who);
  if (!m) return fail("registry.not_miner", "this account is not a registered miner");
  IG_TRY(validate_profile(s, profile));
  m->profile = profile;
  put_miner(s, *m);
  events.push_back(Event{"miner_updated", {{"account", chain::address_to_string(who)}}});
  return {};
}

Expected<void> register_model(State& s, uint64_t height, const Address& who, const chain::RegisterModel& rm,
                              std::vector<Event>& events) {
  if (!staking::active_by_account(s, who)) return fail("registry.not_validator", "only validators register models");
  if (get_model(s, rm.model_id)) return fail("registry.model_exists", "model " + chain::to_hex(rm.model_id) + " is already registered");
  if (!printable(rm.name) || !printable(rm.architecture))
    return fail("registry.bad_model", "model name and architecture must be non-empty printable ASCII");
  if (rm.context_limit == 0) return fail("registry.bad_model", "context_limit must be positive");
  Model m{rm.model_id, rm.name, rm.architecture, rm.price_per_token, rm.context_limit, who, height};
  chain::Writer w;
  w.fixed(m.id);
  w.str(m.name);
  w.str(m.architecture);
  w.u64(m.price_per_token);
  w.u32(m.context_limit);
  w.fixed(m.registered_by);
  w.u64(m.registered_height);
  s.put(model_key(m.id), w.data());
  events.push_back(Event{"model_registered", {{"model", chain::to_hex(m.id)}, {"name", m.name}}});
  return {};
}

Expected<uint64_t> ensure_uid(State& s, const Address& account, Role role) {
  if (auto uid = uid_of(s, account)) return *uid;
  kv::Bytes counter = kv::key(StatePrefix::kRegistry, 'n');
  uint64_t uid = kv::load_u64(s, counter);
  if (uid >= kMaxUids) return fail("registry.full", "all " + std::to_string(kMaxUids) + " participant slots are taken");
  kv::store_u64(s, counter, uid + 1);
  kv::store_u64(s, account_uid_key(account), uid);
  chain::Writer w;
  w.fixed(account);
  w.u8(static_cast<uint8_t>(role));
  s.put(kv::key(StatePrefix::kRegistry, 'u', {kv::be64(uid)}), w.data());
  return uid;
}

std::optional<uint64_t> uid_of(const State& s, const Address& account) {
  return kv::load<uint64_t>(s, account_uid_key(account), [](chain::Reader& r) { return r.u64(); });
}

std::vector<Participant> participants(const State& s) {
  std::vector<Participant> out;
  s.scan(kv::key(StatePrefix::kRegistry, 'u'), [&](chain::ByteView k, chain::ByteView v) {
    chain::Reader r(v);
    Participant p{kv::read_be64(k.subspan(2, 8)), r.fixed<32>(), static_cast<Role>(r.u8())};
    out.push_back(p);
    return true;
  });
  return out;
}

void record_success(Miner& m, uint64_t latency_blocks) {
  m.reliability = static_cast<uint16_t>(m.reliability + (kReliabilityOne - m.reliability) / 8);
  m.latency_milli = (m.latency_milli * 7 + latency_blocks * 1000) / 8;
  ++m.completed;
}

void record_failure(Miner& m) {
  m.reliability = static_cast<uint16_t>(m.reliability - m.reliability / 4);
  ++m.failed;
}

}  // namespace ig::contracts::registry
