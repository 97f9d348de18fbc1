// Signs and sends a worker's transactions from one account: the chain id and fee schedule are
// read from the node once, the nonce before every send (the node's next_nonce counts the
// account's transactions waiting in the mempool), the fee is the schedule's minimum, and the
// expiry a few hundred blocks ahead. Thread-safe: sends are serialized, so two jobs of one
// miner never race for a nonce.
//
// Errors: "tx.rejected" with the node's reason (data.reason) in the message, the link's codes.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "chain/genesis.hpp"
#include "chain/keys.hpp"
#include "chain/payloads.hpp"
#include "chain/tx.hpp"
#include "common/expected.hpp"
#include "workers/node_link.hpp"

namespace ig::workers {

struct SentTx {
  std::string hash;    // hex
  std::string tx_hex;  // the signed transaction's canonical encoding, hex
  uint64_t nonce = 0;
};

// Runs after signing and before the transaction leaves (e.g. to journal it, so that a restart
// re-sends these exact bytes instead of signing a second, different transaction).
using BeforeSend = std::function<Status(const SentTx&)>;

class TxSender {
 public:
  TxSender(std::string node_url, chain::SecretKey key, const std::atomic<bool>* stop = nullptr);

  const chain::Address& address() const { return address_; }
  std::string address_text() const;

  // Builds, signs and sends. A nonce taken by a transaction sent elsewhere meanwhile
  // ("tx.bad_nonce") is retried once with a fresh nonce.
  Expected<SentTx> send(const chain::Payload& payload, const BeforeSend& before_send = nullptr);
  // Sends already-signed bytes again (after a restart). Succeeds when the node takes them or
  // already has them (in its mempool or a block).
  Status resend(const SentTx& tx);
  // Polls tx_receipt until the transaction is in a block: the receipt object.
  Expected<json> wait_receipt(const std::string& hash, std::chrono::milliseconds timeout);
  // Any query, on the sender's own connection.
  Expected<json> call(const std::string& method, const json& params);

 private:
  Status load_chain_facts();

  std::mutex mu_;
  NodeLink link_;
  chain::SecretKey key_;
  chain::Address address_{};
  std::optional<std::string> chain_id_;
  chain::FeeSchedule fee_{};
  const std::atomic<bool>* stop_;
};

}  // namespace ig::workers
