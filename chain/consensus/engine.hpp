// Consensus engines decide when a block is final; the Ledger decides whether it is valid.
//
// Every engine produces the same artefacts: a block plus a Commit of precommit signatures
// from more than 2/3 of the voting power. The single-validator engine is the degenerate case
// with one voter (it still signs a real commit for every block); the Tendermint-style BFT
// engine plugs in behind the same interface.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "chain/ledger.hpp"

namespace ig::chain {

class ConsensusEngine {
 public:
  virtual ~ConsensusEngine() = default;
  virtual Status start() = 0;
  virtual void stop() = 0;
};

class SingleValidatorEngine : public ConsensusEngine {
 public:
  SingleValidatorEngine(Ledger& ledger, SecretKey consensus_key, std::chrono::milliseconds block_time);
  ~SingleValidatorEngine() override;

  // Checks that this key alone holds more than 2/3 of the voting power, then runs the block loop.
  Status start() override;
  void stop() override;

  // Proposes, signs and commits one block now (the loop calls it; tests and benchmarks may too).
  Expected<Hash> produce_block();

 private:
  void run();

  Ledger& ledger_;
  SecretKey key_;
  std::chrono::milliseconds block_time_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace ig::chain
