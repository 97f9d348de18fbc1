#include "contracts/app.hpp"

#include <algorithm>

#include "contracts/bank.hpp"

namespace ig::contracts {

using chain::TxCode;

namespace {

// Where the check state sends fees: it is never committed, so any fixed sink will do.
const chain::Address kCheckFeeSink{};

TxCode code_for(const Error& e) {
  if (e.code == "bank.insufficient_funds") return TxCode::kInsufficientFunds;
  if (e.code == "bank.overflow") return TxCode::kOverflow;
  return TxCode::kInvalidPayload;
}

}  // namespace

Status InfergridApp::init_chain(const chain::Genesis& genesis, chain::State& state) {
  return bank::init_accounts(state, genesis.accounts);
}

Status InfergridApp::check_tx(chain::State& state, const chain::TxEnvelope& env) {
  IG_TRY_ASSIGN(params, chain::read_params(state));
  IG_TRY(bank::check_sender(state, env, params.fee));
  IG_TRY(bank::charge_fee_and_nonce(state, env, kCheckFeeSink));
  // Run the payload too, so a transfer the sender cannot afford is refused at the door.
  std::vector<chain::Event> ignored;
  return apply_payload(state, env, ignored);
}

void InfergridApp::begin_block(chain::State& state, const chain::BlockInfo& block, std::vector<chain::Event>&) {
  fee_recipient_ = block.proposer;  // falls back to the consensus key if the proposer is unknown
  auto vs = chain::read_validator_set(state);
  if (!vs) return;
  auto it = std::find_if(vs->begin(), vs->end(), [&](const chain::Validator& v) { return v.consensus_key == block.proposer; });
  if (it != vs->end()) fee_recipient_ = it->account;
}

Expected<chain::Receipt> InfergridApp::deliver_tx(chain::State& state, const chain::BlockInfo&, const chain::TxEnvelope& env) {
  IG_TRY_ASSIGN(params, chain::read_params(state));
  IG_TRY(bank::check_sender(state, env, params.fee));
  IG_TRY(bank::charge_fee_and_nonce(state, env, fee_recipient_));
  chain::Receipt receipt;
  receipt.fee_paid = env.tx.body.fee;
  receipt.events.push_back(chain::Event{"fee",
                                        {{"payer", chain::address_to_string(env.tx.body.sender)},
                                         {"recipient", chain::address_to_string(fee_recipient_)},
                                         {"amount", std::to_string(env.tx.body.fee)}}});
  size_t cp = state.checkpoint();
  size_t events_before = receipt.events.size();
  auto applied = apply_payload(state, env, receipt.events);
  if (!applied) {
    state.revert_to(cp);
    receipt.events.resize(events_before);
    receipt.code = code_for(applied.error());
    receipt.error = applied.error().message;
  }
  return receipt;
}

void InfergridApp::end_block(chain::State&, const chain::BlockInfo&, std::vector<chain::Event>&) {}

Expected<void> InfergridApp::apply_payload(chain::State& state, const chain::TxEnvelope& env, std::vector<chain::Event>& events) {
  return std::visit([&](const auto& p) -> Expected<void> {
    using T = std::decay_t<decltype(p)>;
    if constexpr (std::is_same_v<T, chain::Transfer>) return bank::apply_transfer(state, env.tx.body.sender, p, events);
  }, env.tx.body.payload);
}

}  // namespace ig::contracts
