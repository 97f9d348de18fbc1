// The wallet's view of a node: typed calls of the JSON-RPC methods it needs, over WebSocket
// (ws://) or HTTP POST (http://). Replies are checked against the documented shapes
// (docs/rpc.md) before anything reads them: a reply that does not fit is "rpc.bad_reply"
// ("malformed reply from node to METHOD: field 'x' missing", wallet/cli/reply.hpp), a JSON-RPC
// error is "rpc.<code>" with the node's message. The methods that return json return it
// checked, so callers may read the fields named in their comments without further checks.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chain/genesis.hpp"
#include "common/expected.hpp"

namespace ig::wallet::cli {

struct AccountInfo {
  std::string address;
  chain::Amount balance = 0;
  uint64_t nonce = 0;
  uint64_t next_nonce = 0;
};

class NodeClient {
 public:
  static Expected<NodeClient> connect(const std::string& url, std::chrono::milliseconds timeout);
  NodeClient(NodeClient&&) noexcept;
  NodeClient& operator=(NodeClient&&) noexcept;
  ~NodeClient();

  Expected<nlohmann::json> call(const std::string& method, const nlohmann::json& params);

  Expected<std::string> chain_id();
  Expected<uint64_t> head_height();
  Expected<chain::FeeSchedule> fee_schedule();
  Expected<uint64_t> tempo();  // blocks per epoch, from contracts_params
  Expected<AccountInfo> account(const std::string& address);
  Expected<std::string> send_tx(const std::string& tx_hex);           // returns the node's tx hash
  // null while unknown/pending, else an object with "status" (string), "height", "index"
  // (unsigned), "fee_paid" (decimal string or unsigned), "events" (array of {"type": string,
  // "attributes": object}) and, when present, "error" (string).
  Expected<nlohmann::json> receipt(const std::string& hash_hex);
  // null when unknown, else an object with a "tx" object.
  Expected<nlohmann::json> get_tx(const std::string& hash_hex);
  // task_get: a task (below). task_list: an array of them. A task has "id" (unsigned),
  // "status" and "user" (strings), "verdicts" (an array of objects with "account" and "reason"
  // strings, "accept" (bool) and "first_bad_step" (unsigned)), "fee_paid" and "refunded"
  // (amounts); when present "miner" (string), "assigned_height", "deadline", "attempts"
  // (unsigned), "tried" (array of strings), "miner_paid", "validators_paid" (amounts) and
  // "result" (an object with an "output_tokens" array, "text" (string), "height" and
  // "window_end" (unsigned), and when present "tx_hash" (string)).
  Expected<nlohmann::json> task(uint64_t id);
  Expected<nlohmann::json> task_list(uint64_t from_id, uint64_t limit);
  // registry_models: an array of objects with "model_id", "name" (strings) and "price_per_token" (amount).
  Expected<nlohmann::json> models();
  // weights_get: null, or {"reveal_epoch", "reveal_height" (unsigned), "weights": [{"uid", "weight"}]}.
  Expected<nlohmann::json> weights(const std::string& address);
  // yuma_lastEpoch: null, or {"epoch", "height" (unsigned), "emission" (amount), "uids": [{"uid",
  // "account", "stake_weight", "consensus", "incentive", "dividends", "validator_trust",
  // "validator_permit", "emission"}]} with every field of every uid present and typed.
  Expected<nlohmann::json> last_epoch();
  // staking_getStake: {"address", "validator" (amount), "miner" (amount)}.
  Expected<nlohmann::json> stake(const std::string& address);
  // A listing method (staking_validators, registry_miners, registry_models): an array of objects.
  Expected<nlohmann::json> object_list(const std::string& method);

 private:
  struct Impl;
  explicit NodeClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ig::wallet::cli
