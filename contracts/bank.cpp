#include "contracts/bank.hpp"

#include <stdexcept>

#include "chain/codec.hpp"
#include "chain/hash.hpp"

namespace ig::contracts::bank {

namespace {

chain::Bytes account_key(const Address& a) {
  chain::Bytes suffix{'a'};
  chain::append(suffix, a);
  return chain::state_key(chain::StatePrefix::kBank, suffix);
}

const chain::Bytes& supply_key() {
  static const chain::Bytes k = chain::state_key(chain::StatePrefix::kBank, chain::Bytes{'s'});
  return k;
}

chain::Bytes u64_bytes(uint64_t v) {
  chain::Writer w;
  w.u64(v);
  return std::move(w).take();
}

}  // namespace

Account get_account(const State& s, const Address& a) {
  auto raw = s.get(account_key(a));
  if (!raw) return {};
  chain::Reader r(*raw);
  Account acct{r.u64(), r.u64()};
  // State is only ever written by put_account; a malformed entry means corrupted storage.
  if (!r.finish()) throw std::runtime_error("corrupted bank account entry");
  return acct;
}

BalanceAudit audit_balances(const State& s) {
  BalanceAudit out;
  s.scan(chain::state_key(chain::StatePrefix::kBank, chain::Bytes{'a'}), [&](chain::ByteView, chain::ByteView v) {
    chain::Reader r(v);
    out.total += r.u64();
    ++out.accounts;
    return true;
  });
  return out;
}

void put_account(State& s, const Address& a, const Account& acct) {
  chain::Writer w;
  w.u64(acct.balance);
  w.u64(acct.nonce);
  s.put(account_key(a), w.data());
}

Amount total_supply(const State& s) {
  auto raw = s.get(supply_key());
  if (!raw) return 0;
  chain::Reader r(*raw);
  Amount v = r.u64();
  return r.finish() ? v : 0;
}

Address module_account(std::string_view module) {
  return chain::sha256(chain::view("infergrid/module/" + std::string(module)));
}

static void set_supply(State& s, Amount supply) { s.put(supply_key(), u64_bytes(supply)); }

Status mint(State& s, const Address& to, Amount amount) {
  Account acct = get_account(s, to);
  auto bal = chain::checked_add(acct.balance, amount);
  auto sup = chain::checked_add(total_supply(s), amount);
  if (!bal || !sup) return fail("bank.overflow", "minting would overflow the supply");
  acct.balance = *bal;
  put_account(s, to, acct);
  set_supply(s, *sup);
  return {};
}

Status burn(State& s, const Address& from, Amount amount) {
  Account acct = get_account(s, from);
  auto bal = chain::checked_sub(acct.balance, amount);
  auto sup = chain::checked_sub(total_supply(s), amount);
  if (!bal || !sup) return fail("bank.insufficient_funds", "cannot burn more than the balance");
  acct.balance = *bal;
  put_account(s, from, acct);
  set_supply(s, *sup);
  return {};
}

Status init_accounts(State& s, const std::vector<chain::GenesisAccount>& accounts) {
  Amount supply = total_supply(s);
  for (const auto& ga : accounts) {
    Account acct = get_account(s, ga.address);
    auto bal = chain::checked_add(acct.balance, ga.balance);
    auto sup = chain::checked_add(supply, ga.balance);
    if (!bal || !sup) return fail("bank.overflow", "genesis balances overflow the supply");
    acct.balance = *bal;
    supply = *sup;
    put_account(s, ga.address, acct);
  }
  s.put(supply_key(), u64_bytes(supply));
  return {};
}

Expected<void> move(State& s, const Address& from, const Address& to, Amount amount) {
  Account src = get_account(s, from);
  auto src_after = chain::checked_sub(src.balance, amount);
  if (!src_after)
    return fail("bank.insufficient_funds", "balance " + std::to_string(src.balance) + " is less than " + std::to_string(amount));
  if (from == to) return {};
  Account dst = get_account(s, to);
  auto dst_after = chain::checked_add(dst.balance, amount);
  if (!dst_after) return fail("bank.overflow", "recipient balance would overflow");
  src.balance = *src_after;
  dst.balance = *dst_after;
  put_account(s, from, src);
  put_account(s, to, dst);
  return {};
}

Status check_sender(const State& s, const chain::TxEnvelope& env, const chain::FeeSchedule& fees) {
  const auto& body = env.tx.body;
  Account acct = get_account(s, body.sender);
  if (body.nonce != acct.nonce)
    return fail("tx.bad_nonce", "nonce " + std::to_string(body.nonce) + " but the account expects " + std::to_string(acct.nonce));
  Amount need = chain::min_fee(fees, env.size);
  if (body.fee < need)
    return fail("tx.fee_too_low", "fee " + std::to_string(body.fee) + " is below the minimum " + std::to_string(need) +
                                      " for " + std::to_string(env.size) + " bytes");
  if (acct.balance < body.fee)
    return fail("tx.cannot_pay_fee", "balance " + std::to_string(acct.balance) + " cannot pay the fee " + std::to_string(body.fee));
  return {};
}

Status charge_fee_and_nonce(State& s, const chain::TxEnvelope& env, const Address& fee_recipient) {
  const auto& body = env.tx.body;
  IG_TRY(move(s, body.sender, fee_recipient, body.fee));
  Account acct = get_account(s, body.sender);
  auto next = chain::checked_add(acct.nonce, 1);
  if (!next) return fail("tx.nonce_overflow", "account nonce is exhausted");
  acct.nonce = *next;
  put_account(s, body.sender, acct);
  return {};
}

Expected<void> apply_transfer(State& s, const Address& sender, const chain::Transfer& t, std::vector<chain::Event>& events) {
  IG_TRY(move(s, sender, t.to, t.amount));
  events.push_back(chain::Event{"transfer",
                                {{"from", chain::address_to_string(sender)},
                                 {"to", chain::address_to_string(t.to)},
                                 {"amount", std::to_string(t.amount)}}});
  return {};
}

}  // namespace ig::contracts::bank
