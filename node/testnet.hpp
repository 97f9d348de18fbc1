// `infergridd testnet`: the homes of a local network of N validators, for people who want to
// run one by hand (docs/consensus.md "A local network"): one directory per node under OUT, each
// with its keys, config.json (RPC and P2P ports that do not collide) and the shared genesis,
// which lists every validator's node id and P2P address. `infergridd start --home OUT/nodeI` on
// each brings the network up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"

namespace ig::node {

struct TestnetOptions {
  std::string out;                   // created; must not exist
  unsigned validators = 4;
  std::string chain_id = "infergrid-testnet";
  uint16_t base_rpc_port = 8546;     // node i: base + i
  uint16_t base_p2p_port = 26656;    // node i: base + i
  uint64_t block_time_ms = 1000;
  std::string password;              // the keystores' password
  // Contract parameters to override in genesis ("contracts" object keys), e.g. a short tempo.
  std::vector<std::pair<std::string, uint64_t>> contracts;
};

struct TestnetNode {
  std::string home, name, node_id, validator_account, consensus_key;
  uint16_t rpc_port = 0, p2p_port = 0;
};

// Writes the homes; the dev account (funded) is in node0's wallet. Errors "testnet.*" and the
// keystore's.
Expected<std::vector<TestnetNode>> write_testnet(const TestnetOptions& options);

}  // namespace ig::node
