// The boundary between the chain and what runs on it (like CometBFT's ABCI).
//
// chain/ decides WHICH transactions are in a block and in what order, stores blocks and
// commits them; the Application decides WHAT they do to state. The chain never looks inside
// a payload's meaning, and the Application never touches the store.
#pragma once

#include <vector>

#include "chain/genesis.hpp"
#include "chain/state.hpp"

namespace ig::chain {

struct BlockInfo {
  std::string chain_id;
  uint64_t height = 0;
  uint64_t time_ms = 0;
  Hash prev_hash{};
  PublicKey proposer{};  // consensus key of the proposer
};

// A transaction as the executor hands it over: decoded, hashed and measured once.
struct TxEnvelope {
  const Transaction& tx;
  Hash hash{};
  size_t size = 0;  // canonical encoding length in bytes (fees are per byte)
};

class Application {
 public:
  virtual ~Application() = default;

  // Writes the initial state (accounts, parameters) from genesis.
  virtual Status init_chain(const Genesis& genesis, State& state) = 0;

  // Mempool admission against the mempool's running check state, as if the transaction were
  // included at `next_height`: nonce, fee, balance, and the payload's own rules. On success its
  // effects stay in `state` so the sender's next transaction sequences after this one.
  virtual Status check_tx(State& state, const TxEnvelope& tx, uint64_t next_height) = 0;

  virtual void begin_block(State& state, const BlockInfo& block, std::vector<Event>& events) = 0;

  // Executes one transaction. An error means the transaction may not be included at all
  // (wrong nonce, cannot pay its fee) and makes a block containing it invalid. A transaction
  // that is includable but fails returns a Receipt with a failure code: it paid its fee and
  // its other effects were reverted.
  virtual Expected<Receipt> deliver_tx(State& state, const BlockInfo& block, const TxEnvelope& tx) = 0;

  virtual void end_block(State& state, const BlockInfo& block, std::vector<Event>& events) = 0;
};

}  // namespace ig::chain
