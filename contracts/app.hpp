// The infergrid Application: routes each transaction payload to the contract that owns it
// and runs the contracts' end-of-block work. This is the only class chain/ sees.
#pragma once

#include "chain/application.hpp"
#include "contracts/params.hpp"

namespace ig::contracts {

class InfergridApp : public chain::Application {
 public:
  Status init_chain(const chain::Genesis& genesis, chain::State& state) override;
  Status check_tx(chain::State& state, const chain::TxEnvelope& tx, uint64_t next_height) override;
  void begin_block(chain::State& state, const chain::BlockInfo& block, std::vector<chain::Event>& events) override;
  Expected<chain::Receipt> deliver_tx(chain::State& state, const chain::BlockInfo& block, const chain::TxEnvelope& tx) override;
  void end_block(chain::State& state, const chain::BlockInfo& block, std::vector<chain::Event>& events) override;

 private:
  // Runs a payload's effects; returns the failure (code + message) that reverts them.
  Expected<void> apply_payload(chain::State& state, const chain::BlockInfo& block, const chain::TxEnvelope& tx,
                               std::vector<chain::Event>& events);

  chain::Address fee_recipient_{};  // the proposer's account, set in begin_block
};

}  // namespace ig::contracts
