// The infergrid-wallet program: shared vocabulary of its commands.
//
// Every command is a function from parsed arguments to an Output (a JSON object for --json and
// a text for people) or an ig::Error; main() prints one or the other and maps the error's code
// to the exit status (exit_code_for).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/expected.hpp"
#include "wallet/secret.hpp"
#include "wallet/wallet_dir.hpp"

namespace ig::wallet::cli {

using json = nlohmann::json;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the node, the network, a wrong password, a failed tx
inline constexpr int kExitUsage = 2;    // a bad argument: fix the command line

struct Globals {
  std::string wallet_dir;
  std::string node_url = "ws://127.0.0.1:8546";
  std::string password_file;
  bool json = false;
  int timeout_s = 30;
  std::chrono::milliseconds timeout() const { return std::chrono::seconds(timeout_s); }
};

struct Output {
  json data = json::object();
  std::string text;
  int exit_code = kExitOk;  // a command may succeed in running yet report failure (a failed tx)
  std::string error;        // printed on stderr as "error: ..." (the node's reason for a failed tx)
};

using Action = std::function<Expected<Output>()>;

// Each adds its subcommands to `app`; the one the user picks stores its action in `chosen`.
void add_key_commands(CLI::App& app, const Globals& g, Action& chosen);
void add_tx_commands(CLI::App& app, const Globals& g, Action& chosen);
void add_stake_commands(CLI::App& app, const Globals& g, Action& chosen);     // stake, unstake, validator, validators, evidence
void add_registry_commands(CLI::App& app, const Globals& g, Action& chosen);  // register-*, update-miner, miners, models
void add_task_commands(CLI::App& app, const Globals& g, Action& chosen);      // task, verdict
void add_weights_commands(CLI::App& app, const Globals& g, Action& chosen);   // weights, epoch

// kExitUsage for errors in what the user typed (codes arg.*, wallet.*, password.no_source, ...),
// kExitFailure for everything else.
int exit_code_for(const Error& e);

// Opens the wallet directory and finds a key by name or address.
Expected<Wallet> open_wallet(const Globals& g);
// Asks for the key's password (file, environment, terminal) and decrypts it.
Expected<chain::SecretKey> unlock_key(const Globals& g, const Wallet& w, const WalletEntry& entry);

}  // namespace ig::wallet::cli
