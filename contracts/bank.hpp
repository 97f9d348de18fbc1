// bank: balances, nonces, total supply, transfers and fees (DESIGN §5).
//
// State layout (prefix kBank):
//   'a' || address -> balance u64 || nonce u64
//   's'            -> total supply u64
// Pure transitions over State; every amount is checked, overflow is an error.
#pragma once

#include "chain/application.hpp"

namespace ig::contracts::bank {

using chain::Address;
using chain::Amount;
using chain::State;

struct Account {
  Amount balance = 0;
  uint64_t nonce = 0;
  bool operator==(const Account&) const = default;
};

Account get_account(const State& s, const Address& a);
void put_account(State& s, const Address& a, const Account& acct);
Amount total_supply(const State& s);

// The sum of every account's balance (module accounts included) and how many accounts hold
// an entry: what a supply audit compares with total_supply. Walks every account, in key order.
struct BalanceAudit {
  unsigned __int128 total = 0;
  uint64_t accounts = 0;
};
BalanceAudit audit_balances(const State& s);

// Accounts owned by contracts (no private key exists for them): stake and escrow live here,
// so the sum of all balances always equals the total supply.
Address module_account(std::string_view module);  // SHA-256("infergrid/module/" + module)

// Creates new tokens (epoch emission) and destroys them (slashing); both change the supply.
Status mint(State& s, const Address& to, Amount amount);
Status burn(State& s, const Address& from, Amount amount);

// Genesis balances; fails if the supply would overflow.
Status init_accounts(State& s, const std::vector<chain::GenesisAccount>& accounts);

// Moves `amount` from one account to another. Fails with a reason and changes nothing on
// insufficient funds or recipient overflow.
Expected<void> move(State& s, const Address& from, const Address& to, Amount amount);

// Includability of a transaction for its sender: exact nonce, fee at least the schedule's
// minimum for its size, and enough balance for the fee.
Status check_sender(const State& s, const chain::TxEnvelope& env, const chain::FeeSchedule& fees);

// Charges the fee (to `fee_recipient`) and advances the sender's nonce.
Status charge_fee_and_nonce(State& s, const chain::TxEnvelope& env, const Address& fee_recipient);

// Executes a Transfer payload; events describe what moved.
Expected<void> apply_transfer(State& s, const Address& sender, const chain::Transfer& t, std::vector<chain::Event>& events);

}  // namespace ig::contracts::bank
