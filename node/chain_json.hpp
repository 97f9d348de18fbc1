// JSON views of chain values for RPC and files. JSON never reaches a hash or a signature:
// the canonical codec does. Amounts are decimal strings (u64 does not fit a JSON double).
#pragma once

#include <nlohmann/json.hpp>

#include "chain/block.hpp"
#include "chain/genesis.hpp"

namespace ig::node {

using json = nlohmann::json;

json tx_to_json(const chain::Transaction& tx);
json header_to_json(const chain::BlockHeader& h);
json commit_to_json(const chain::Commit& c);
json block_to_json(const chain::Block& b, bool full_txs);
json event_to_json(const chain::Event& e);
json receipt_to_json(const chain::Receipt& r);
json params_to_json(const chain::ChainParams& p);
json validator_to_json(const chain::Validator& v);
json sampling_to_json(const chain::SamplingParams& p);
json result_receipt_to_json(const chain::ResultReceipt& r);

}  // namespace ig::node
