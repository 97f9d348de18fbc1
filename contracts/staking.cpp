#include "contracts/staking.hpp"

#include <algorithm>

#include "contracts/bank.hpp"
#include "contracts/kv.hpp"

namespace ig::contracts::staking {

namespace {

using chain::StatePrefix;

const Address& pool() {
  static const Address a = bank::module_account("staking");
  return a;
}

kv::Bytes stakes_key(const Address& a) { return kv::key(StatePrefix::kStaking, 's', {a}); }
kv::Bytes validator_key(const chain::PublicKey& k) { return kv::key(StatePrefix::kStaking, 'v', {k}); }
kv::Bytes proposal_key(uint64_t id) { return kv::key(StatePrefix::kStaking, 'p', {kv::be64(id)}); }

void put_stakes(State& s, const Address& a, const Stakes& st) {
  chain::Writer w;
  w.u64(st.validator);
  w.u64(st.miner);
  s.put(stakes_key(a), w.data());
}

void write_record(chain::Writer& w, const ValidatorRecord& v) {
  w.fixed(v.consensus_key);
  w.fixed(v.account);
  w.str(v.name);
  w.boolean(v.removed);
  w.u32(v.low_trust_epochs);
}

ValidatorRecord read_record(chain::Reader& r) {
  ValidatorRecord v;
  v.consensus_key = r.fixed<32>();
  v.account = r.fixed<32>();
  v.name = r.str(chain::kMaxNameBytes);
  v.removed = r.boolean();
  v.low_trust_epochs = r.u32();
  return v;
}

void put_proposal(State& s, const AdmissionProposal& p) {
  chain::Writer w;
  w.u64(p.id);
  write_record(w, p.candidate);
  w.u32(static_cast<uint32_t>(p.approvals.size()));
  for (const auto& k : p.approvals) w.fixed(k);
  w.boolean(p.admitted);
  s.put(proposal_key(p.id), w.data());
}

std::string role_name(StakeRole r) { return r == StakeRole::kValidator ? "validator" : "miner"; }

Event stake_event(const char* type, const Address& who, StakeRole role, Amount amount) {
  return Event{type, {{"account", chain::address_to_string(who)}, {"role", role_name(role)}, {"amount", std::to_string(amount)}}};
}

// Power of the current set (from chain state) and whether `key` is in it.
unsigned __int128 total_power(const std::vector<chain::Validator>& vs) {
  unsigned __int128 t = 0;
  for (const auto& v : vs) t += v.power;
  return t;
}

}  // namespace

Stakes get_stakes(const State& s, const Address& a) {
  return kv::load<Stakes>(s, stakes_key(a), [](chain::Reader& r) { return Stakes{r.u64(), r.u64()}; }).value_or(Stakes{});
}

Amount role_stake(const Stakes& st, StakeRole role) { return role == StakeRole::kValidator ? st.validator : st.miner; }

static void set_role_stake(Stakes& st, StakeRole role, Amount v) {
  (role == StakeRole::kValidator ? st.validator : st.miner) = v;
}

Status init_genesis(State& s, const std::vector<chain::Validator>& validators) {
  for (const auto& v : validators) {
    // Genesis stake is new supply, held by the staking pool like any other stake.
    IG_TRY(bank::mint(s, pool(), v.power));
    Stakes st = get_stakes(s, v.account);
    auto sum = chain::checked_add(st.validator, v.power);
    if (!sum) return fail("staking.overflow", "genesis stake overflows");
    st.validator = *sum;
    put_stakes(s, v.account, st);
    put_validator(s, ValidatorRecord{v.consensus_key, v.account, v.name, false, 0});
  }
  return {};
}

Expected<void> stake(State& s, const Address& who, StakeRole role, Amount amount, std::vector<Event>& events) {
  if (amount == 0) return fail("staking.zero", "stake amount must be positive");
  Stakes st = get_stakes(s, who);
  auto sum = chain::checked_add(role_stake(st, role), amount);
  if (!sum) return fail("bank.overflow", "stake would overflow");
  IG_TRY(bank::move(s, who, pool(), amount));
  set_role_stake(st, role, *sum);
  put_stakes(s, who, st);
  events.push_back(stake_event("stake", who, role, amount));
  return {};
}

Expected<void> unstake(State& s, const Params& p, uint64_t height, const Address& who, StakeRole role, Amount amount,
                       std::vector<Event>& events) {
  if (amount == 0) return fail("staking.zero", "unstake amount must be positive");
  Stakes st = get_stakes(s, who);
  Amount current = role_stake(st, role);
  if (amount > current)
    return fail("staking.beyond_stake", "unstake " + std::to_string(amount) + " exceeds the " + role_name(role) +
                                            " stake " + std::to_string(current));
  Amount remaining = current - amount;
  Amount min = role == StakeRole::kValidator ? p.min_validator_stake : p.min_miner_stake;
  if (remaining != 0 && remaining < min)
    return fail("staking.below_minimum", "remaining stake " + std::to_string(remaining) + " would be below the minimum " +
                                             std::to_string(min) + "; unstake everything or less");
  set_role_stake(st, role, remaining);
  put_stakes(s, who, st);
  auto mature = chain::checked_add(height, p.unbonding_blocks);
  if (!mature) return fail("staking.overflow", "unbonding height overflows");
  uint64_t seq = kv::next_id(s, kv::key(StatePrefix::kStaking, 'q'));
  chain::Writer w;
  w.fixed(who);
  w.u8(static_cast<uint8_t>(role));
  w.u64(amount);
  s.put(kv::key(StatePrefix::kStaking, 'u', {kv::be64(*mature), kv::be64(seq)}), w.data());
  Event e = stake_event("unbond", who, role, amount);
  e.attributes.push_back({"matures_at", std::to_string(*mature)});
  events.push_back(std::move(e));
  return {};
}

void mature_unbonding(State& s, uint64_t height, std::vector<Event>& events) {
  struct Due {
    kv::Bytes key;
    Address who;
    StakeRole role;
    Amount amount;
  };
  std::vector<Due> due;
  s.scan(kv::key(StatePrefix::kStaking, 'u'), [&](chain::ByteView k, chain::ByteView v) {
    if (kv::read_be64(k.subspan(2, 8)) > height) return false;  // sorted by maturity
    chain::Reader r(v);
    Due d{kv::Bytes(k.begin(), k.end()), r.fixed<32>(), static_cast<StakeRole>(r.u8()), r.u64()};
    due.push_back(d);
    return true;
  });
  for (const auto& d : due) {
    // Cannot fail: the pool holds every staked and unbonding token.
    (void)bank::move(s, pool(), d.who, d.amount);
    s.erase(d.key);
    events.push_back(stake_event("unbonded", d.who, d.role, d.amount));
  }
}

// Stake still unbonding was at risk when the offence happened, so it is cut at the same rate:
// unstaking ahead of a slash does not escape it.
static Amount slash_unbonding(State& s, const Address& who, StakeRole role, uint32_t bps) {
  std::vector<std::pair<kv::Bytes, Amount>> cuts;  // entry key, new amount
  Amount total = 0;
  s.scan(kv::key(StatePrefix::kStaking, 'u'), [&](chain::ByteView k, chain::ByteView v) {
    chain::Reader r(v);
    Address owner = r.fixed<32>();
    auto entry_role = static_cast<StakeRole>(r.u8());
    Amount amount = r.u64();
    if (owner != who || entry_role != role) return true;
    Amount cut = static_cast<Amount>(static_cast<unsigned __int128>(amount) * bps / kBps);
    if (cut) cuts.emplace_back(kv::Bytes(k.begin(), k.end()), amount - cut);
    total += cut;
    return true;
  });
  for (const auto& [key, remaining] : cuts) {
    chain::Writer w;
    w.fixed(who);
    w.u8(static_cast<uint8_t>(role));
    w.u64(remaining);
    s.put(key, w.data());
  }
  return total;
}

Amount slash(State& s, const Address& who, StakeRole role, uint32_t bps, const std::string& reason, std::vector<Event>& events) {
  Stakes st = get_stakes(s, who);
  Amount current = role_stake(st, role);
  Amount cut = static_cast<Amount>(static_cast<unsigned __int128>(current) * bps / kBps);
  if (cut) {
    set_role_stake(st, role, current - cut);
    put_stakes(s, who, st);
  }
  Amount total = cut + slash_unbonding(s, who, role, bps);
  if (total == 0) return 0;
  (void)bank::burn(s, pool(), total);  // the pool holds every stake and unbonding entry
  events.push_back(Event{"slash",
                         {{"account", chain::address_to_string(who)},
                          {"role", role_name(role)},
                          {"amount", std::to_string(total)},
                          {"reason", reason}}});
  return total;
}

std::optional<ValidatorRecord> get_validator(const State& s, const chain::PublicKey& k) {
  return kv::load<ValidatorRecord>(s, validator_key(k), read_record);
}

void put_validator(State& s, const ValidatorRecord& v) {
  chain::Writer w;
  write_record(w, v);
  s.put(validator_key(v.consensus_key), w.data());
}

std::vector<ValidatorRecord> all_validators(const State& s) {
  std::vector<ValidatorRecord> out;
  s.scan(kv::key(StatePrefix::kStaking, 'v'), [&](chain::ByteView, chain::ByteView v) {
    chain::Reader r(v);
    out.push_back(read_record(r));
    return true;
  });
  return out;
}

std::optional<chain::Validator> active_by_account(const State& s, const Address& account) {
  auto vs = chain::read_validator_set(s);
  if (!vs) return std::nullopt;
  for (const auto& v : *vs)
    if (v.account == account) return v;
  return std::nullopt;
}

std::optional<AdmissionProposal> get_proposal(const State& s, uint64_t id) {
  return kv::load<AdmissionProposal>(s, proposal_key(id), [](chain::Reader& r) {
    AdmissionProposal p;
    p.id = r.u64();
    p.candidate = read_record(r);
    p.approvals.resize(r.count(chain::kMaxValidators, 32));
    for (auto& k : p.approvals) k = r.fixed<32>();
    p.admitted = r.boolean();
    return p;
  });
}

// A consensus key, and an account, back at most one validator record: a second record for an
// account would count its stake twice, and a stale proposal must not overwrite an admitted
// validator (or clear its `removed` flag).
static Status check_candidate(const State& s, const ValidatorRecord& c) {
  if (get_validator(s, c.consensus_key)) return fail("staking.known_validator", "this consensus key is already registered");
  for (const auto& v : all_validators(s))
    if (v.account == c.account)
      return fail("staking.known_account", "account " + chain::address_to_string(c.account) + " already backs validator " + v.name);
  return {};
}

// Admits the candidate once approvals carry more than 2/3 of the current power.
static void admit_if_approved(State& s, AdmissionProposal& p, std::vector<Event>& events) {
  auto vs = chain::read_validator_set(s);
  if (!vs || p.admitted) return;
  unsigned __int128 approved = 0;
  for (const auto& v : *vs)
    if (std::find(p.approvals.begin(), p.approvals.end(), v.consensus_key) != p.approvals.end()) approved += v.power;
  if (approved * 3 <= total_power(*vs) * 2) return;
  p.admitted = true;
  put_validator(s, p.candidate);
  events.push_back(Event{"validator_admitted",
                         {{"proposal", std::to_string(p.id)},
                          {"consensus_key", chain::to_hex(p.candidate.consensus_key)},
                          {"account", chain::address_to_string(p.candidate.account)}}});
}

Expected<uint64_t> propose_validator(State& s, const Address& sender, const chain::ProposeValidator& pv,
                                     std::vector<Event>& events) {
  auto me = active_by_account(s, sender);
  if (!me) return fail("staking.not_validator", "only a current validator may propose a new one");
  if (pv.name.empty()) return fail("staking.bad_name", "a validator needs a name");
  AdmissionProposal p;
  p.candidate = ValidatorRecord{pv.consensus_key, pv.account, pv.name, false, 0};
  IG_TRY(check_candidate(s, p.candidate));
  p.id = kv::next_id(s, kv::key(StatePrefix::kStaking, 'n'));
  p.approvals.push_back(me->consensus_key);
  events.push_back(Event{"validator_proposed",
                         {{"proposal", std::to_string(p.id)},
                          {"consensus_key", chain::to_hex(pv.consensus_key)},
                          {"account", chain::address_to_string(pv.account)}}});
  admit_if_approved(s, p, events);
  put_proposal(s, p);
  return p.id;
}

Expected<void> approve_validator(State& s, const Address& sender, uint64_t id, std::vector<Event>& events) {
  auto me = active_by_account(s, sender);
  if (!me) return fail("staking.not_validator", "only a current validator may approve");
  auto p = get_proposal(s, id);
  if (!p) return fail("staking.unknown_proposal", "no validator proposal " + std::to_string(id));
  if (p->admitted) return fail("staking.already_admitted", "proposal " + std::to_string(id) + " is already admitted");
  IG_TRY(check_candidate(s, p->candidate));  // another proposal may have taken the key or account since
  if (std::find(p->approvals.begin(), p->approvals.end(), me->consensus_key) != p->approvals.end())
    return fail("staking.already_approved", "this validator already approved proposal " + std::to_string(id));
  p->approvals.push_back(me->consensus_key);
  admit_if_approved(s, *p, events);
  put_proposal(s, *p);
  return {};
}

void update_validator_set(State& s, const Params& p, std::vector<Event>& events) {
  std::vector<chain::Validator> next;
  for (const auto& rec : all_validators(s)) {
    if (rec.removed) continue;
    Amount power = get_stakes(s, rec.account).validator;
    if (power < p.min_validator_stake) continue;
    next.push_back(chain::Validator{rec.consensus_key, rec.account, power, rec.name});
  }
  if (next.empty()) return;  // never halt the chain by emptying its validator set
  auto current = chain::read_validator_set(s);
  if (current && *current == next) return;
  chain::write_validator_set(s, next);
  events.push_back(Event{"validator_set", {{"size", std::to_string(next.size())}}});
}

}  // namespace ig::contracts::staking
