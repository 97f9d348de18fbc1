// RPC queries over the settlement contracts: tasks, miners, models, stakes, validators,
// weights and the last Yuma epoch (task_*, registry_*, staking_*, weights_*, yuma_*).
#include "chain/hash.hpp"
#include "common/inference_receipt.hpp"
#include "contracts/bank.hpp"
#include "contracts/epoch.hpp"
#include "contracts/registry.hpp"
#include "contracts/staking.hpp"
#include "contracts/tasks.hpp"
#include "contracts/weights.hpp"
#include "chain/json_view.hpp"
#include "node/rpc_methods.hpp"

namespace ig::node {

using namespace ig::chain;  // the JSON views of chain values

using rpc::MethodResult;
namespace ct = ig::contracts;

namespace {

json param(const json& params, size_t index, const char* name) {
  if (params.is_array()) return index < params.size() ? params[index] : json();
  if (params.is_object() && params.contains(name)) return params[name];
  return json();
}

Expected<chain::Address> address_param(const json& params, size_t index, const char* name) {
  json p = param(params, index, name);
  if (!p.is_string()) return fail("params", std::string(name) + " must be an ig1… address");
  return chain::address_from_string(p.get<std::string>());
}

Expected<uint64_t> uint_param(const json& params, size_t index, const char* name, std::optional<uint64_t> dflt = std::nullopt) {
  json p = param(params, index, name);
  if (p.is_null() && dflt) return *dflt;
  if (!p.is_number_unsigned()) return fail("params", std::string(name) + " must be a non-negative integer");
  return p.get<uint64_t>();
}

// The task_get / task_list / task_assigned / task_awaitingVerdict view (docs/rpc.md "Tasks").
json task_to_json(const ct::tasks::Task& t) {
  json verdicts = json::array();
  for (const auto& v : t.verdicts)
    verdicts.push_back({{"validator", chain::to_hex(v.validator)},
                        {"account", chain::address_to_string(v.account)},
                        {"accept", v.accept},
                        {"reason", v.reason},
                        {"first_bad_step", v.first_bad_step},
                        {"evidence", v.evidence},
                        {"tx_hash", chain::to_hex(v.tx_hash)},
                        {"height", v.height}});
  json tried = json::array();
  for (const auto& a : t.tried) tried.push_back(chain::address_to_string(a));
  json out = {{"id", t.id},
              {"status", ct::tasks::status_name(t.status)},
              {"user", chain::address_to_string(t.submitter)},
              {"model_id", chain::to_hex(t.model_id)},
              {"prompt", t.prompt},
              {"prompt_hash", chain::to_hex(ig::prompt_hash(t.prompt))},
              {"params", sampling_to_json(t.params)},
              {"params_hash", chain::to_hex(chain::sampling_params_hash(t.params))},
              {"max_fee", std::to_string(t.max_fee)},
              {"submitted_height", t.submitted_height},
              {"attempts", t.attempts},
              {"tried", tried},
              {"verdicts", verdicts},
              {"fee_paid", std::to_string(t.miner_paid + t.validators_paid)},
              {"miner_paid", std::to_string(t.miner_paid)},
              {"validators_paid", std::to_string(t.validators_paid)},
              {"refunded", std::to_string(t.refunded)}};
  if (t.status != ct::tasks::Status::kPending && t.miner != chain::Address{}) {
    out["miner"] = chain::address_to_string(t.miner);
    out["assigned_height"] = t.assigned_height;
    out["deadline"] = t.deadline;
  }
  if (t.receipt) {
    out["result"] = {{"tx_hash", chain::to_hex(t.result_tx)},
                     {"output_tokens", t.output_tokens},
                     {"text", t.text},
                     {"receipt", inference_receipt_to_json(*t.receipt)},
                     {"height", t.result_height},
                     {"window_end", t.window_end},
                     {"fee_due", std::to_string(t.fee_due)}};
  }
  return out;
}

json tasks_to_json(const std::vector<ct::tasks::Task>& ts) {
  json out = json::array();
  for (const auto& t : ts) out.push_back(task_to_json(t));
  return out;
}

// from_id (default 1) and limit (default 100, 1..1000) of the task listings.
Expected<std::pair<uint64_t, uint64_t>> page_params(const json& params, size_t from_index, size_t limit_index) {
  auto from = uint_param(params, from_index, "from_id", 1);
  auto limit = uint_param(params, limit_index, "limit", 100);
  if (!from || !limit || *limit == 0 || *limit > 1000) return fail("params", "from_id >= 0 and limit within 1..1000");
  return std::make_pair(*from, *limit);
}

json miner_to_json(const ct::registry::Miner& m, const chain::State& s) {
  json models = json::array();
  for (const auto& id : m.profile.models) models.push_back(chain::to_hex(id));
  return {{"account", chain::address_to_string(m.account)},
          {"uid", m.uid},
          {"gpu_class", m.profile.gpu_class},
          {"memory_mb", m.profile.memory_mb},
          {"max_concurrent", m.profile.max_concurrent},
          {"models", models},
          {"registered_height", m.registered_height},
          {"reliability", m.reliability},
          {"latency_milli_blocks", m.latency_milli},
          {"open_tasks", m.open_tasks},
          {"completed", m.completed},
          {"failed", m.failed},
          {"stake", std::to_string(ct::staking::get_stakes(s, m.account).miner)}};
}

json model_to_json(const ct::registry::Model& m) {
  return {{"model_id", chain::to_hex(m.id)},
          {"name", m.name},
          {"architecture", m.architecture},
          {"price_per_token", std::to_string(m.price_per_token)},
          {"context_limit", m.context_limit},
          {"registered_by", chain::address_to_string(m.registered_by)},
          {"registered_height", m.registered_height}};
}

using Query = std::function<MethodResult(const chain::State&, const json&)>;

}  // namespace

Status register_contract_methods(rpc::Server& server, chain::Ledger& ledger) {
  chain::Ledger* l = &ledger;
  // Every query reads one consistent snapshot of committed state.
  auto add = [&](const char* name, Query q) {
    return server.add_method(name, [l, q](const json& params) -> MethodResult {
      auto snapshot = l->store().snapshot();
      chain::State s(*snapshot);
      return q(s, params);
    });
  };
  IG_TRY(add("task_get", [](const chain::State& s, const json& p) -> MethodResult {
    auto id = uint_param(p, 0, "id");
    if (!id) return rpc::invalid_params(id.error().message);
    auto t = ct::tasks::get_task(s, *id);
    if (!t) return rpc::not_found("no task " + std::to_string(*id));
    return task_to_json(*t);
  }));
  IG_TRY(add("task_list", [](const chain::State& s, const json& p) -> MethodResult {
    auto page = page_params(p, 0, 1);
    if (!page) return rpc::invalid_params(page.error().message);
    return tasks_to_json(ct::tasks::tasks_in(s, page->first, page->second));
  }));
  // A restarted miner's catch-up: the tasks assigned to it that still await its result.
  IG_TRY(add("task_assigned", [](const chain::State& s, const json& p) -> MethodResult {
    auto miner = address_param(p, 0, "miner");
    if (!miner) return rpc::invalid_params(miner.error().message);
    auto page = page_params(p, 1, 2);
    if (!page) return rpc::invalid_params(page.error().message);
    return tasks_to_json(ct::tasks::assigned_to(s, *miner, page->first, page->second));
  }));
  // A restarted verifier's catch-up: submitted results whose verification window is open,
  // without those the given validator account already judged.
  IG_TRY(add("task_awaitingVerdict", [](const chain::State& s, const json& p) -> MethodResult {
    std::optional<chain::Address> validator;
    if (!param(p, 0, "validator").is_null()) {
      auto a = address_param(p, 0, "validator");
      if (!a) return rpc::invalid_params(a.error().message);
      validator = *a;
    }
    auto page = page_params(p, 1, 2);
    if (!page) return rpc::invalid_params(page.error().message);
    return tasks_to_json(ct::tasks::awaiting_verdicts(s, validator, page->first, page->second));
  }));
  IG_TRY(add("registry_miners", [](const chain::State& s, const json&) -> MethodResult {
    json out = json::array();
    for (const auto& m : ct::registry::all_miners(s)) out.push_back(miner_to_json(m, s));
    return out;
  }));
  IG_TRY(add("registry_miner", [](const chain::State& s, const json& p) -> MethodResult {
    auto a = address_param(p, 0, "address");
    if (!a) return rpc::invalid_params(a.error().message);
    auto m = ct::registry::get_miner(s, *a);
    if (!m) return rpc::not_found("not a registered miner");
    return miner_to_json(*m, s);
  }));
  IG_TRY(add("registry_models", [](const chain::State& s, const json&) -> MethodResult {
    json out = json::array();
    for (const auto& m : ct::registry::all_models(s)) out.push_back(model_to_json(m));
    return out;
  }));
  IG_TRY(add("staking_getStake", [](const chain::State& s, const json& p) -> MethodResult {
    auto a = address_param(p, 0, "address");
    if (!a) return rpc::invalid_params(a.error().message);
    auto st = ct::staking::get_stakes(s, *a);
    return json{{"address", chain::address_to_string(*a)},
                {"validator", std::to_string(st.validator)},
                {"miner", std::to_string(st.miner)}};
  }));
  IG_TRY(add("staking_validators", [](const chain::State& s, const json&) -> MethodResult {
    auto active = chain::read_validator_set(s).value_or(std::vector<chain::Validator>{});
    json out = json::array();
    for (const auto& r : ct::staking::all_validators(s)) {
      bool in_set = std::any_of(active.begin(), active.end(), [&](const chain::Validator& v) { return v.consensus_key == r.consensus_key; });
      out.push_back({{"name", r.name},
                     {"consensus_key", chain::to_hex(r.consensus_key)},
                     {"account", chain::address_to_string(r.account)},
                     {"stake", std::to_string(ct::staking::get_stakes(s, r.account).validator)},
                     {"active", in_set},
                     {"removed", r.removed},
                     {"low_trust_epochs", r.low_trust_epochs}});
    }
    return out;
  }));
  IG_TRY(add("staking_getProposal", [](const chain::State& s, const json& p) -> MethodResult {
    auto id = uint_param(p, 0, "id");
    if (!id) return rpc::invalid_params(id.error().message);
    auto prop = ct::staking::get_proposal(s, *id);
    if (!prop) return rpc::not_found("no validator proposal " + std::to_string(*id));
    json approvals = json::array();
    for (const auto& k : prop->approvals) approvals.push_back(chain::to_hex(k));
    return json{{"id", prop->id},
                {"consensus_key", chain::to_hex(prop->candidate.consensus_key)},
                {"account", chain::address_to_string(prop->candidate.account)},
                {"name", prop->candidate.name},
                {"approvals", approvals},
                {"admitted", prop->admitted}};
  }));
  IG_TRY(add("weights_get", [](const chain::State& s, const json& p) -> MethodResult {
    auto a = address_param(p, 0, "address");
    if (!a) return rpc::invalid_params(a.error().message);
    auto row = ct::weights::get_row(s, *a);
    if (!row) return json(nullptr);
    json entries = json::array();
    for (const auto& e : row->entries) entries.push_back({{"uid", e.uid}, {"weight", e.weight}});
    return json{{"reveal_epoch", row->reveal_epoch}, {"reveal_height", row->reveal_height}, {"weights", entries}};
  }));
  IG_TRY(add("yuma_lastEpoch", [](const chain::State& s, const json&) -> MethodResult {
    auto rec = ct::epoch::last_epoch(s);
    if (!rec) return json(nullptr);
    json uids = json::array();
    for (const auto& u : rec->uids)
      uids.push_back({{"uid", u.uid},
                      {"account", chain::address_to_string(u.account)},
                      {"stake_weight", u.stake_weight},
                      {"consensus", u.consensus},
                      {"incentive", u.incentive},
                      {"dividends", u.dividends},
                      {"validator_trust", u.validator_trust},
                      {"validator_permit", u.permit},
                      {"emission", std::to_string(u.emission)}});
    return json{{"epoch", rec->epoch}, {"height", rec->height}, {"emission", std::to_string(rec->emission)}, {"uids", uids}};
  }));
  // The supply audit (docs/rpc.md): every balance, module accounts included, sums to the supply.
  IG_TRY(add("bank_supply", [](const chain::State& s, const json&) -> MethodResult {
    const auto audit = ct::bank::audit_balances(s);
    std::string total;
    for (unsigned __int128 v = audit.total; v > 0 || total.empty(); v /= 10) total.insert(total.begin(), char('0' + int(v % 10)));
    return json{{"supply", std::to_string(ct::bank::total_supply(s))},
                {"balances_total", total},
                {"accounts", audit.accounts}};
  }));
  IG_TRY(add("contracts_params", [](const chain::State& s, const json&) -> MethodResult {
    auto p = ct::read_params(s);
    if (!p) return rpc::RpcError{rpc::kServerError, p.error().message};
    return json::parse(ct::params_to_json(*p));
  }));
  return {};
}

}  // namespace ig::node
