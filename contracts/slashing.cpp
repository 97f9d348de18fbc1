#include "contracts/slashing.hpp"

#include "chain/block.hpp"
#include "contracts/kv.hpp"
#include "contracts/staking.hpp"

namespace ig::contracts::slashing {

Status check_double_sign(std::string_view chain_id, const chain::Evidence& e) {
  const auto &a = e.a, &b = e.b;
  if (a.validator != b.validator) return fail("evidence.different_signers", "the two votes are from different validators");
  if (a.height != b.height || a.round != b.round || a.type != b.type)
    return fail("evidence.not_conflicting", "the votes are for different heights, rounds or steps");
  if (a.block_hash == b.block_hash) return fail("evidence.not_conflicting", "the votes are for the same block");
  if (!chain::verify_vote(chain_id, a) || !chain::verify_vote(chain_id, b))
    return fail("evidence.bad_signature", "a vote's signature does not verify");
  return {};
}

Expected<void> submit_evidence(chain::State& s, const Params& p, std::string_view chain_id, const chain::Evidence& e,
                               std::vector<chain::Event>& events) {
  IG_TRY(check_double_sign(chain_id, e));
  auto rec = staking::get_validator(s, e.a.validator);
  if (!rec) return fail("evidence.unknown_validator", "the signer is not a registered validator");
  kv::Bytes key = kv::key(chain::StatePrefix::kSlashing, 'e', {e.a.validator, kv::be64(e.a.height)});
  if (s.get(key)) return fail("evidence.duplicate", "this double-sign was already punished");
  s.put(key, {});
  staking::slash(s, rec->account, chain::StakeRole::kValidator, p.double_sign_slash_bps,
                 "double-sign at height " + std::to_string(e.a.height), events);
  rec->removed = true;
  staking::put_validator(s, *rec);
  events.push_back(chain::Event{"double_sign",
                                {{"validator", chain::to_hex(e.a.validator)},
                                 {"account", chain::address_to_string(rec->account)},
                                 {"height", std::to_string(e.a.height)}}});
  return {};
}

}  // namespace ig::contracts::slashing
