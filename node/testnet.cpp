#include "node/testnet.hpp"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "chain/address.hpp"
#include "chain/genesis.hpp"
#include "contracts/params.hpp"
#include "node/config.hpp"
#include "p2p/node_key.hpp"
#include "wallet/keystore.hpp"

namespace ig::node {
namespace {

namespace fs = std::filesystem;

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

Status make_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("testnet.io", "cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return {};
}

}  // namespace

Expected<std::vector<TestnetNode>> write_testnet(const TestnetOptions& o) {
  if (o.validators == 0 || o.validators > 64) return fail("testnet.validators", "--validators must be within 1..64");
  if (fs::exists(o.out)) return fail("testnet.exists", o.out + " already exists; give a new directory");
  if (uint32_t(o.base_rpc_port) + o.validators > 65535 || uint32_t(o.base_p2p_port) + o.validators > 65535)
    return fail("testnet.ports", "the port ranges do not fit below 65536");

  chain::Genesis genesis;
  genesis.chain_id = o.chain_id;
  genesis.genesis_time_ms = now_ms();
  genesis.params.block_time_ms = o.block_time_ms;
  nlohmann::json contracts = nlohmann::json::parse(contracts::params_to_json(contracts::Params{}));
  for (const auto& [key, value] : o.contracts) {
    if (!contracts.contains(key)) return fail("testnet.param", "unknown contract parameter '" + key + "'");
    contracts[key] = value;
  }
  genesis.contracts_json = contracts.dump();

  std::vector<TestnetNode> nodes;
  for (unsigned i = 0; i < o.validators; ++i) {
    TestnetNode n;
    n.name = "node" + std::to_string(i);
    n.home = o.out + "/" + n.name;
    n.rpc_port = static_cast<uint16_t>(o.base_rpc_port + i);
    n.p2p_port = static_cast<uint16_t>(o.base_p2p_port + i);
    HomePaths paths{n.home};
    IG_TRY(make_dir(n.home));
    IG_TRY(make_dir(n.home + "/keys"));
    IG_TRY(make_dir(paths.wallet_dir()));
    const chain::SecretKey consensus = chain::SecretKey::generate();
    const chain::SecretKey account = chain::SecretKey::generate();
    IG_TRY(wallet::write_keystore(paths.consensus_key(), "consensus", consensus, o.password));
    IG_TRY(wallet::write_keystore(paths.wallet_dir() + "/validator.json", "validator", account, o.password));
    IG_TRY_ASSIGN(node_key, p2p::NodeKey::load_or_create(paths.node_key()));
    n.node_id = node_key.id().to_string();
    n.validator_account = chain::address_to_string(account.public_key());
    n.consensus_key = chain::to_hex(consensus.public_key());
    genesis.validators.push_back(chain::Validator{consensus.public_key(), account.public_key(), 1'000'000, n.name});
    genesis.nodes.push_back(chain::GenesisNode{consensus.public_key(), n.node_id, "127.0.0.1:" + std::to_string(n.p2p_port)});
    genesis.accounts.push_back(chain::GenesisAccount{account.public_key(), 1'000'000'000});
    if (i == 0) {
      const chain::SecretKey dev = chain::SecretKey::generate();
      IG_TRY(wallet::write_keystore(paths.wallet_dir() + "/dev.json", "dev", dev, o.password));
      genesis.accounts.push_back(chain::GenesisAccount{dev.public_key(), 1'000'000'000'000});
    }
    NodeConfig config;
    config.moniker = n.name;
    config.rpc.port = n.rpc_port;
    config.p2p.listen = "127.0.0.1:" + std::to_string(n.p2p_port);
    IG_TRY(save_config(paths.config(), config));
    nodes.push_back(n);
  }
  const std::string text = chain::genesis_to_json(genesis);
  IG_TRY(chain::parse_genesis(text));
  for (const auto& n : nodes) {
    std::ofstream out(HomePaths{n.home}.genesis(), std::ios::trunc);
    out << text;
    if (!out) return fail("testnet.io", "cannot write the genesis of " + n.home);
  }
  return nodes;
}

}  // namespace ig::node
