// The wallet's view of a node: typed calls of the JSON-RPC methods it needs, over WebSocket
// (ws://) or HTTP POST (http://). Replies are checked against the documented shapes; a reply
// that does not fit is "rpc.bad_reply", a JSON-RPC error is "rpc.<code>" with the node's message.
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
  Expected<nlohmann::json> receipt(const std::string& hash_hex);      // null while unknown/pending
  Expected<nlohmann::json> get_tx(const std::string& hash_hex);       // null when unknown

 private:
  struct Impl;
  explicit NodeClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ig::wallet::cli
