#include "contracts/epoch.hpp"

#include <algorithm>

#include "contracts/bank.hpp"
#include "contracts/kv.hpp"
#include "contracts/registry.hpp"
#include "contracts/staking.hpp"
#include "contracts/weights.hpp"
#include "contracts/yuma/yuma.hpp"

namespace ig::contracts::epoch {

namespace {

using chain::StatePrefix;

kv::Bytes bonds_key(uint64_t uid) { return kv::key(StatePrefix::kYuma, 'b', {kv::be64(uid)}); }
kv::Bytes permits_key() { return kv::key(StatePrefix::kYuma, 'P'); }
kv::Bytes record_key() { return kv::key(StatePrefix::kYuma, 'l'); }

yuma::U16Row load_bonds(const chain::State& s, uint64_t uid) {
  return kv::load<yuma::U16Row>(s, bonds_key(uid), [](chain::Reader& r) {
    yuma::U16Row row(r.count(registry::kMaxUids, 6));
    for (auto& e : row) {
      e.col = r.u32();
      e.val = r.u16();
    }
    return row;
  }).value_or(yuma::U16Row{});
}

void store_bonds(chain::State& s, uint64_t uid, const yuma::U16Row& row) {
  if (row.empty()) {
    s.erase(bonds_key(uid));
    return;
  }
  chain::Writer w;
  w.u32(static_cast<uint32_t>(row.size()));
  for (const auto& e : row) {
    w.u32(e.col);
    w.u16(e.val);
  }
  s.put(bonds_key(uid), w.data());
}

// Stored rows are max-upscaled (row maximum -> 65535), exactly as set_weights stores them.
yuma::U16Row weight_row(const weights::Row& row) {
  std::vector<uint16_t> values;
  for (const auto& e : row.entries) values.push_back(e.weight);
  values = yuma::max_upscale_weights(values);
  yuma::U16Row out;
  for (size_t i = 0; i < row.entries.size(); ++i) out.push_back(yuma::U16Entry{row.entries[i].uid, values[i]});
  return out;
}

void write_record(chain::State& s, const EpochRecord& rec) {
  chain::Writer w;
  w.u64(rec.epoch);
  w.u64(rec.height);
  w.u64(rec.emission);
  w.u32(static_cast<uint32_t>(rec.uids.size()));
  for (const auto& u : rec.uids) {
    w.u64(u.uid);
    w.fixed(u.account);
    w.u16(u.stake_weight);
    w.u16(u.consensus);
    w.u16(u.incentive);
    w.u16(u.dividends);
    w.u16(u.validator_trust);
    w.boolean(u.permit);
    w.u64(u.emission);
  }
  s.put(record_key(), w.data());
}

// Validators whose trust stays below the threshold for K epochs are slashed (and removed when
// configured). Only validators that revealed weights in this epoch are judged: the epochs a
// stored row merely carries over add no new evidence of deviation (the same row would be
// counted again and again), and a validator that set none earns no dividends, which is its own
// penalty.
void judge_deviation(chain::State& s, const Params& p, const chain::Validator& v, uint16_t trust, std::vector<chain::Event>& events) {
  auto rec = staking::get_validator(s, v.consensus_key);
  if (!rec) return;
  if (trust >= p.deviation_trust_threshold) {
    rec->low_trust_epochs = 0;
  } else if (++rec->low_trust_epochs >= p.deviation_epochs) {
    staking::slash(s, v.account, chain::StakeRole::kValidator, p.deviation_slash_bps,
                   "validator trust below threshold for " + std::to_string(rec->low_trust_epochs) + " epochs", events);
    rec->low_trust_epochs = 0;
    if (p.remove_on_deviation) rec->removed = true;
  }
  staking::put_validator(s, *rec);
}

}  // namespace

yuma::Params yuma_params(const Params& p) {
  yuma::Params y;
  y.kappa = p.kappa;
  y.bonds_penalty = p.bonds_penalty;
  y.bonds_moving_average = p.bonds_moving_average;
  y.yuma3 = p.yuma3;
  y.liquid_alpha = p.liquid_alpha;
  y.alpha_low = p.alpha_low;
  y.alpha_high = p.alpha_high;
  y.max_allowed_validators = p.max_allowed_validators;
  y.tempo = p.tempo;
  y.activity_cutoff = p.activity_cutoff;
  y.commit_reveal = false;  // our weights contract already applies commit-reveal
  return y;
}

void run(chain::State& s, const Params& p, uint64_t height, std::vector<chain::Event>& events) {
  const uint64_t epoch_no = weights::epoch_of(p, height);
  const auto validators = chain::read_validator_set(s).value_or(std::vector<chain::Validator>{});
  for (const auto& v : validators) (void)registry::ensure_uid(s, v.account, registry::Role::kValidator);
  const auto people = registry::participants(s);
  const size_t n = people.size();

  yuma::EpochInput in;
  in.block = height;
  in.last_mechanism_step_block = height >= p.tempo ? height - p.tempo : 0;
  in.emission = p.emission_per_epoch;
  in.params = yuma_params(p);
  in.stake.assign(n, yuma::Q64{});
  in.last_update.assign(n, 0);
  in.registered_at.assign(n, 0);
  in.weights.assign(n, {});
  in.bonds.assign(n, {});
  std::vector<const chain::Validator*> validator_of(n, nullptr);
  std::vector<bool> revealed(n, false);
  for (const auto& person : people) {
    const uint64_t u = person.uid;
    in.bonds[u] = load_bonds(s, u);
    if (auto m = registry::get_miner(s, person.account)) in.registered_at[u] = m->registered_height;
    auto it = std::find_if(validators.begin(), validators.end(), [&](const chain::Validator& v) { return v.account == person.account; });
    if (it == validators.end()) continue;
    validator_of[u] = &*it;
    in.stake[u] = yuma::Q64::from_u64(it->power);
    // A validator's latest revealed row counts in every epoch until a new reveal replaces it,
    // as Bittensor's stored weights do; last_update = its reveal height lets Yuma's activity
    // cutoff retire a row that has not been renewed for activity_cutoff blocks.
    if (auto row = weights::get_row(s, person.account)) {
      in.weights[u] = weight_row(*row);
      in.last_update[u] = row->reveal_height;
      revealed[u] = row->reveal_epoch == epoch_no;
    }
  }
  auto stored_permits = s.get(permits_key());
  in.permits.assign(n, false);
  if (stored_permits)
    for (size_t u = 0; u < n && u < stored_permits->size(); ++u) in.permits[u] = (*stored_permits)[u] != 0;
  else
    for (size_t u = 0; u < n; ++u) in.permits[u] = validator_of[u] != nullptr;  // first epoch

  auto out = yuma::run_epoch(in);
  if (!out) {
    // A malformed input here is a contract bug; skip the epoch rather than halt the chain.
    events.push_back(chain::Event{"epoch_failed", {{"epoch", std::to_string(epoch_no)}, {"error", out.error().message}}});
    staking::update_validator_set(s, p, events);
    return;
  }

  EpochRecord rec{epoch_no, height, p.emission_per_epoch, {}};
  chain::Bytes permits(n, 0);
  auto to16 = [](const std::vector<yuma::q32>& v) { return yuma::to_u16(v); };
  auto consensus = to16(out->consensus), incentive = to16(out->incentive), dividends = to16(out->dividends),
       trust = to16(out->validator_trust), stake_weight = to16(out->stake_weight);
  chain::Amount minted = 0;
  for (const auto& person : people) {
    const uint64_t u = person.uid;
    store_bonds(s, u, out->bonds[u]);
    permits[u] = out->new_permits[u] ? 1 : 0;
    chain::Amount amount = out->server_emission[u] + out->validator_emission[u];
    if (amount && bank::mint(s, person.account, amount)) minted += amount;
    if (validator_of[u] && revealed[u]) judge_deviation(s, p, *validator_of[u], trust[u], events);
    rec.uids.push_back(UidResult{u, person.account, stake_weight[u], consensus[u], incentive[u], dividends[u], trust[u],
                                 out->new_permits[u], amount});
  }
  s.put(permits_key(), permits);
  rec.emission = minted;
  write_record(s, rec);
  events.push_back(chain::Event{"epoch", {{"epoch", std::to_string(epoch_no)}, {"emission", std::to_string(minted)},
                                          {"participants", std::to_string(n)}}});
  staking::update_validator_set(s, p, events);
}

std::optional<EpochRecord> last_epoch(const chain::State& s) {
  return kv::load<EpochRecord>(s, record_key(), [](chain::Reader& r) {
    EpochRecord rec;
    rec.epoch = r.u64();
    rec.height = r.u64();
    rec.emission = r.u64();
    rec.uids.resize(r.count(registry::kMaxUids, 59));
    for (auto& u : rec.uids) {
      u.uid = r.u64();
      u.account = r.fixed<32>();
      u.stake_weight = r.u16();
      u.consensus = r.u16();
      u.incentive = r.u16();
      u.dividends = r.u16();
      u.validator_trust = r.u16();
      u.permit = r.boolean();
      u.emission = r.u64();
    }
    return rec;
  });
}

}  // namespace ig::contracts::epoch
