// infergrid-wallet: keys and transactions for an infergrid node (usage in docs/wallet.md).
#include <cstdio>
#include <iostream>

#include "wallet/cli/cli.hpp"

namespace ig::wallet::cli {
namespace {

void add_global_options(CLI::App& app, Globals& g) {
  g.wallet_dir = default_wallet_dir();
  app.add_option("--wallet-dir", g.wallet_dir, "Keystore directory (default $INFERGRID_WALLET_DIR or ~/.infergrid/wallet)");
  app.add_option("--node", g.node_url, "Node JSON-RPC URL, ws://HOST:PORT or http://HOST:PORT")
      ->envname("INFERGRID_NODE")
      ->capture_default_str();
  app.add_option("--password-file", g.password_file, "Read the password from the first line of FILE");
  app.add_flag("--json", g.json, "Print one JSON object on stdout (for scripts)");
  app.add_option("--timeout", g.timeout_s, "Seconds to wait for the node (connect, each call, --wait)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void print_error(const Error& e) { std::fprintf(stderr, "error: %s\n", e.message.c_str()); }

int run(int argc, char** argv) {
  CLI::App app{"infergrid-wallet: keys and transactions for an infergrid node", "infergrid-wallet"};
  app.set_version_flag("--version", INFERGRID_VERSION);
  app.fallthrough();  // global options may come after the command too
  app.require_subcommand(1);
  Globals g;
  Action chosen;
  add_global_options(app, g);
  add_key_commands(app, g, chosen);
  add_tx_commands(app, g, chosen);
  add_stake_commands(app, g, chosen);
  add_registry_commands(app, g, chosen);
  add_task_commands(app, g, chosen);
  add_weights_commands(app, g, chosen);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\nRun 'infergrid-wallet --help' for usage.\n", e.what());
    return kExitUsage;
  }
  if (!chosen) return kExitUsage;
  auto out = chosen();
  if (!out) {
    print_error(out.error());
    return exit_code_for(out.error());
  }
  if (g.json)
    std::cout << dump(out->data) << "\n";
  else
    std::cout << out->text;
  std::cout.flush();
  if (!out->error.empty()) std::fprintf(stderr, "error: %s\n", out->error.c_str());
  return out->exit_code;
}

}  // namespace
}  // namespace ig::wallet::cli

int main(int argc, char** argv) {
  try {
    return ig::wallet::cli::run(argc, argv);
  } catch (const std::exception& e) {
    // Nothing is expected to throw; if something does, say so rather than abort.
    std::fprintf(stderr, "error: internal: %s\n", e.what());
    return ig::wallet::cli::kExitFailure;
  }
}
