// The node's JSON-RPC methods (chain_*, state_*, tx_*, node_*) and the notifications it
// publishes (newHeads, events). The method reference is docs/rpc.md.
#pragma once

#include "chain/ledger.hpp"
#include "rpc/server.hpp"

namespace ig::node {

struct NodeIdentity {
  std::string moniker;
  std::optional<chain::PublicKey> validator_key;
};

// Registers every method on `server`; handlers read through `ledger` (thread-safe reads).
Status register_methods(rpc::Server& server, chain::Ledger& ledger, const NodeIdentity& identity);

// Registers the contract queries (task_*, registry_*, staking_*, weights_*, yuma_*, contracts_params).
Status register_contract_methods(rpc::Server& server, chain::Ledger& ledger);

// Publishes a committed block as one newHeads notification and one events notification per event.
void publish_block(rpc::Server& server, const chain::CommittedBlock& block);

}  // namespace ig::node
