#include "contracts/app.hpp"

#include <algorithm>

#include "contracts/bank.hpp"
#include "contracts/epoch.hpp"
#include "contracts/registry.hpp"
#include "contracts/slashing.hpp"
#include "contracts/staking.hpp"
#include "contracts/tasks.hpp"
#include "contracts/weights.hpp"

namespace ig::contracts {

using chain::TxCode;

namespace {

// Where the check state sends fees: it is never committed, so any fixed sink will do.
const chain::Address kCheckFeeSink{};

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TxCode code_for(const Error& e) {
  if (e.code == "bank.insufficient_funds") return TxCode::kInsufficientFunds;
  if (ends_with(e.code, ".overflow")) return TxCode::kOverflow;
  if (ends_with(e.code, ".not_validator") || ends_with(e.code, ".not_owner") || ends_with(e.code, ".not_assigned") ||
      ends_with(e.code, ".not_miner"))
    return TxCode::kUnauthorized;
  if (e.code.find(".unknown_") != std::string::npos || ends_with(e.code, ".no_commit")) return TxCode::kNotFound;
  return TxCode::kInvalidPayload;
}

// Turns an epoch-independent contract call that returns an id into one that returns nothing.
template <typename T>
Expected<void> discard_value(Expected<T> r) {
  if (!r) return fail(r.error());
  return {};
}

}  // namespace

Status InfergridApp::init_chain(const chain::Genesis& genesis, chain::State& state) {
  IG_TRY_ASSIGN(params, parse_params(genesis.contracts_json));
  write_params(state, params);
  IG_TRY(bank::init_accounts(state, genesis.accounts));
  IG_TRY(staking::init_genesis(state, genesis.validators));
  for (const auto& v : genesis.validators) IG_TRY(discard_value(registry::ensure_uid(state, v.account, registry::Role::kValidator)));
  return {};
}

Status InfergridApp::check_tx(chain::State& state, const chain::TxEnvelope& env, uint64_t next_height) {
  IG_TRY_ASSIGN(chain_params, chain::read_params(state));
  IG_TRY(bank::check_sender(state, env, chain_params.fee));
  IG_TRY(bank::charge_fee_and_nonce(state, env, kCheckFeeSink));
  // Run the payload too, so a transaction that would certainly fail is refused at the door.
  std::vector<chain::Event> ignored;
  chain::BlockInfo info{env.tx.body.chain_id, next_height, 0, {}, {}};
  return apply_payload(state, info, env, ignored);
}

void InfergridApp::begin_block(chain::State& state, const chain::BlockInfo& block, std::vector<chain::Event>&) {
  fee_recipient_ = block.proposer;  // falls back to the consensus key if the proposer is unknown
  auto vs = chain::read_validator_set(state);
  if (!vs) return;
  auto it = std::find_if(vs->begin(), vs->end(), [&](const chain::Validator& v) { return v.consensus_key == block.proposer; });
  if (it != vs->end()) fee_recipient_ = it->account;
}

Expected<chain::Receipt> InfergridApp::deliver_tx(chain::State& state, const chain::BlockInfo& block, const chain::TxEnvelope& env) {
  IG_TRY_ASSIGN(chain_params, chain::read_params(state));
  IG_TRY(bank::check_sender(state, env, chain_params.fee));
  IG_TRY(bank::charge_fee_and_nonce(state, env, fee_recipient_));
  chain::Receipt receipt;
  receipt.fee_paid = env.tx.body.fee;
  receipt.events.push_back(chain::Event{"fee",
                                        {{"payer", chain::address_to_string(env.tx.body.sender)},
                                         {"recipient", chain::address_to_string(fee_recipient_)},
                                         {"amount", std::to_string(env.tx.body.fee)}}});
  size_t cp = state.checkpoint();
  size_t events_before = receipt.events.size();
  Expected<void> applied = [&]() -> Expected<void> {
    try {
      return apply_payload(state, block, env, receipt.events);
    } catch (const std::exception& e) {  // corrupted contract state: fail this transaction, keep the chain going
      return fail("state.corrupted", e.what());
    }
  }();
  if (!applied) {
    state.revert_to(cp);
    receipt.events.resize(events_before);
    receipt.code = code_for(applied.error());
    receipt.error = applied.error().to_string();
  }
  return receipt;
}

void InfergridApp::end_block(chain::State& state, const chain::BlockInfo& block, std::vector<chain::Event>& events) {
  auto params = contracts::read_params(state);
  if (!params) return;  // a chain without contract parameters has nothing to run
  staking::mature_unbonding(state, block.height, events);
  tasks::expire_deadlines(state, *params, block.height, events);
  tasks::settle_windows(state, *params, block.height, events);
  tasks::schedule(state, *params, block.height, block.prev_hash, events);
  if (epoch::is_boundary(*params, block.height)) epoch::run(state, *params, block.height, events);
}

Expected<void> InfergridApp::apply_payload(chain::State& state, const chain::BlockInfo& block, const chain::TxEnvelope& env,
                                           std::vector<chain::Event>& events) {
  const chain::Address& sender = env.tx.body.sender;
  const uint64_t height = block.height;
  IG_TRY_ASSIGN(p, contracts::read_params(state));
  return std::visit([&](const auto& pl) -> Expected<void> {
    using T = std::decay_t<decltype(pl)>;
    if constexpr (std::is_same_v<T, chain::Transfer>) return bank::apply_transfer(state, sender, pl, events);
    if constexpr (std::is_same_v<T, chain::Stake>) return staking::stake(state, sender, pl.role, pl.amount, events);
    if constexpr (std::is_same_v<T, chain::Unstake>) return staking::unstake(state, p, height, sender, pl.role, pl.amount, events);
    if constexpr (std::is_same_v<T, chain::RegisterMiner>) return registry::register_miner(state, p, height, sender, pl.profile, events);
    if constexpr (std::is_same_v<T, chain::UpdateMiner>) return registry::update_miner(state, sender, pl.profile, events);
    if constexpr (std::is_same_v<T, chain::RegisterModel>) return registry::register_model(state, height, sender, pl, events);
    if constexpr (std::is_same_v<T, chain::SubmitTask>) return discard_value(tasks::submit_task(state, p, height, sender, pl, events));
    if constexpr (std::is_same_v<T, chain::SubmitResult>) return tasks::submit_result(state, p, height, sender, pl, env.hash, events);
    if constexpr (std::is_same_v<T, chain::CancelTask>) return tasks::cancel_task(state, sender, pl.task_id, events);
    if constexpr (std::is_same_v<T, chain::Verdict>) return tasks::submit_verdict(state, p, height, sender, pl, env.hash, events);
    if constexpr (std::is_same_v<T, chain::CommitWeights>) return weights::commit(state, p, height, sender, pl, events);
    if constexpr (std::is_same_v<T, chain::RevealWeights>) return weights::reveal(state, p, height, sender, pl, events);
    if constexpr (std::is_same_v<T, chain::Evidence>) return slashing::submit_evidence(state, p, block.chain_id, pl, events);
    if constexpr (std::is_same_v<T, chain::ProposeValidator>) return discard_value(staking::propose_validator(state, sender, pl, events));
    if constexpr (std::is_same_v<T, chain::ApproveValidator>) return staking::approve_validator(state, sender, pl.proposal_id, events);
  }, env.tx.body.payload);
}

}  // namespace ig::contracts
