#include "contracts/params.hpp"

#include <nlohmann/json.hpp>
#include <variant>

#include "chain/codec.hpp"

namespace ig::contracts {

namespace {

using Member = std::variant<uint64_t Params::*, uint32_t Params::*, uint16_t Params::*, bool Params::*>;

struct Field {
  const char* name;
  Member member;
  uint64_t min;
  uint64_t max;
};

// The one list of parameters: JSON names, ranges, and (by position) the state encoding.
const std::vector<Field>& fields() {
  static const std::vector<Field> f = {
      {"min_validator_stake", &Params::min_validator_stake, 1, UINT64_MAX},
      {"min_miner_stake", &Params::min_miner_stake, 1, UINT64_MAX},
      {"unbonding_blocks", &Params::unbonding_blocks, 0, 10'000'000},
      {"result_timeout_blocks", &Params::result_timeout_blocks, 1, 1'000'000},
      {"max_task_attempts", &Params::max_task_attempts, 1, 100},
      {"verification_window_blocks", &Params::verification_window_blocks, 1, 1'000'000},
      {"validator_fee_share_bps", &Params::validator_fee_share_bps, 0, kBps},
      {"max_pending_tasks", &Params::max_pending_tasks, 1, 1'000'000},
      {"miner_fraud_slash_bps", &Params::miner_fraud_slash_bps, 0, kBps},
      {"approver_slash_bps", &Params::approver_slash_bps, 0, kBps},
      {"false_accuser_slash_bps", &Params::false_accuser_slash_bps, 0, kBps},
      {"double_sign_slash_bps", &Params::double_sign_slash_bps, 0, kBps},
      {"deviation_slash_bps", &Params::deviation_slash_bps, 0, kBps},
      {"deviation_trust_threshold", &Params::deviation_trust_threshold, 0, 65'535},
      {"deviation_epochs", &Params::deviation_epochs, 1, 1'000},
      {"remove_on_deviation", &Params::remove_on_deviation, 0, 1},
      {"tempo", &Params::tempo, 2, 1'000'000},
      {"reveal_window_blocks", &Params::reveal_window_blocks, 1, 1'000'000},
      {"emission_per_epoch", &Params::emission_per_epoch, 0, 1'000'000'000'000'000},
      {"kappa", &Params::kappa, 0, 65'535},
      {"bonds_moving_average", &Params::bonds_moving_average, 0, 1'000'000},
      {"bonds_penalty", &Params::bonds_penalty, 0, 65'535},
      {"yuma3", &Params::yuma3, 0, 1},
      {"liquid_alpha", &Params::liquid_alpha, 0, 1},
      {"alpha_low", &Params::alpha_low, 0, 65'535},
      {"alpha_high", &Params::alpha_high, 0, 65'535},
      {"max_allowed_validators", &Params::max_allowed_validators, 1, 65'535},
      {"activity_cutoff", &Params::activity_cutoff, 1, 100'000'000},
  };
  return f;
}

uint64_t get(const Params& p, const Member& m) {
  return std::visit([&](auto ptr) -> uint64_t { return static_cast<uint64_t>(p.*ptr); }, m);
}

void set(Params& p, const Member& m, uint64_t v) {
  std::visit([&](auto ptr) { p.*ptr = static_cast<std::remove_reference_t<decltype(p.*ptr)>>(v); }, m);
}

const chain::Bytes& params_key() {
  static const chain::Bytes k = chain::state_key(chain::StatePrefix::kChain, chain::view(std::string("contract_params")));
  return k;
}

}  // namespace

Expected<Params> parse_params(std::string_view text) {
  Params p;
  if (text.empty()) return p;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("params.json", "contracts parameters must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    auto it = std::find_if(fields().begin(), fields().end(), [&](const Field& f) { return key == f.name; });
    if (it == fields().end()) return fail("params.unknown", "unknown contracts parameter \"" + key + "\"");
    uint64_t v = 0;
    if (value.is_boolean() && std::holds_alternative<bool Params::*>(it->member)) v = value.get<bool>() ? 1 : 0;
    else if (value.is_number_unsigned()) v = value.get<uint64_t>();
    else if (value.is_string() && !value.get<std::string>().empty() &&
             value.get<std::string>().find_first_not_of("0123456789") == std::string::npos &&
             value.get<std::string>().size() <= 19)
      v = std::stoull(value.get<std::string>());
    else return fail("params.type", "contracts." + key + " must be a non-negative integer" +
                                        (std::holds_alternative<bool Params::*>(it->member) ? " or boolean" : ""));
    if (v < it->min || v > it->max)
      return fail("params.range", "contracts." + key + " must be within " + std::to_string(it->min) + ".." +
                                      std::to_string(it->max));
    set(p, it->member, v);
  }
  if (p.reveal_window_blocks > p.tempo) return fail("params.range", "contracts.reveal_window_blocks must not exceed tempo");
  if (p.alpha_low > p.alpha_high) return fail("params.range", "contracts.alpha_low must not exceed alpha_high");
  return p;
}

std::string params_to_json(const Params& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : fields()) {
    uint64_t v = get(p, f.member);
    if (std::holds_alternative<bool Params::*>(f.member)) j[f.name] = v != 0;
    else if (v > (1ull << 53)) j[f.name] = std::to_string(v);
    else j[f.name] = v;
  }
  return j.dump(2);
}

void write_params(chain::State& s, const Params& p) {
  chain::Writer w;
  for (const auto& f : fields()) w.u64(get(p, f.member));
  s.put(params_key(), w.data());
}

Expected<Params> read_params(const chain::State& s) {
  auto raw = s.get(params_key());
  if (!raw) return fail("state.missing", "contract parameters are not in state");
  chain::Reader r(*raw);
  Params p;
  for (const auto& f : fields()) set(p, f.member, r.u64());
  IG_TRY(r.finish());
  return p;
}

}  // namespace ig::contracts
