// genesis.json: the chain's identity, first validators, funded accounts and parameters.
// The format is documented field by field in docs/genesis.md and by the example genesis.json.
#pragma once

#include <string>
#include <vector>

#include "chain/block.hpp"
#include "chain/state.hpp"

namespace ig::chain {

struct FeeSchedule {
  Amount base = 1000;     // per transaction
  Amount per_byte = 1;    // per encoded byte
  bool operator==(const FeeSchedule&) const = default;
};

struct ChainParams {
  uint64_t block_time_ms = 1000;
  uint32_t max_block_txs = 10000;
  uint64_t max_block_bytes = 8u << 20;
  uint64_t max_tx_bytes = 256u << 10;  // a SubmitResult of 4096 tokens with 64 KiB of text is ~132 KiB
  FeeSchedule fee;
  bool operator==(const ChainParams&) const = default;
};

struct GenesisAccount {
  Address address{};
  Amount balance = 0;
  bool operator==(const GenesisAccount&) const = default;
};

// Where a genesis validator's node listens: its P2P node id (64 hex digits, the Ed25519 public
// key of HOME/keys/node_key.pem) and "host:port". Optional per validator (a validator may be
// reached through configured peers instead); not part of the genesis hash, so an operator can
// move a machine without forking the chain. docs/genesis.md, docs/p2p.md.
struct GenesisNode {
  PublicKey consensus_key{};  // the validator it belongs to
  std::string node_id;
  std::string p2p_address;
  bool operator==(const GenesisNode&) const = default;
};

struct Genesis {
  std::string chain_id;
  uint64_t genesis_time_ms = 0;
  ChainParams params;
  std::vector<Validator> validators;
  std::vector<GenesisAccount> accounts;
  // The "contracts" object (staking, tasks, Yuma, slashing parameters), kept as canonical JSON
  // text (sorted keys) for the Application to parse; empty = every default.
  std::string contracts_json;
  std::vector<GenesisNode> nodes;  // network addresses of validators' nodes (not hashed)
  bool operator==(const Genesis&) const = default;
};

Expected<Genesis> parse_genesis(std::string_view json_text);
Expected<Genesis> load_genesis(const std::string& path);
std::string genesis_to_json(const Genesis& g);  // pretty-printed, round-trips through parse_genesis
Hash genesis_hash(const Genesis& g);            // over the canonical encoding

Amount min_fee(const FeeSchedule& f, size_t tx_bytes);  // saturates at the maximum amount

// Chain parameters and the validator set live in state (prefix kChain) so every node reads
// the same values and later contracts can change them at epoch boundaries.
void write_params(State& s, const ChainParams& p);
Expected<ChainParams> read_params(const State& s);
void write_validator_set(State& s, const std::vector<Validator>& vs);
Expected<std::vector<Validator>> read_validator_set(const State& s);
// The set that signs the block being executed, recorded at its start: the next block's
// last_commit is checked against it even when this block changed the validator set.
void write_signing_set(State& s, const std::vector<Validator>& vs);
Expected<std::vector<Validator>> read_signing_set(const State& s);

}  // namespace ig::chain
