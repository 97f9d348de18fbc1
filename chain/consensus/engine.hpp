// Consensus engines decide when a block is final; the Ledger decides whether it is valid.
//
// Every engine produces the same artefacts: a block plus a Commit of precommit signatures
// from more than 2/3 of the voting power. The one engine is Tendermint (bft_engine.hpp); a
// single validator is the same engine with one voter.
#pragma once

#include "chain/ledger.hpp"

namespace ig::chain {

class ConsensusEngine {
 public:
  virtual ~ConsensusEngine() = default;
  virtual Status start() = 0;
  virtual void stop() = 0;
};

}  // namespace ig::chain
