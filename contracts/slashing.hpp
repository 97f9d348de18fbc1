// slashing: double-sign evidence (DESIGN §3, §5). Two validly signed votes from one validator
// for different blocks at the same height, round and step slash that validator's stake and
// remove it from the validator set at the next epoch boundary. Fraud, false verdicts and
// persistent deviation are slashed where they are judged (tasks, epoch).
//
// State (prefix kSlashing): 'e' || consensus key || height(be64) -> (evidence already punished)
#pragma once

#include "chain/application.hpp"
#include "contracts/params.hpp"

namespace ig::contracts::slashing {

Status check_double_sign(std::string_view chain_id, const chain::Evidence& e);

Expected<void> submit_evidence(chain::State& s, const Params& p, std::string_view chain_id, const chain::Evidence& e,
                               std::vector<chain::Event>& events);

}  // namespace ig::contracts::slashing
