#include <set>
#include <string>

#include "wallet/cli/cli.hpp"
#include "wallet/password.hpp"

namespace ig::wallet::cli {

int exit_code_for(const Error& e) {
  // What the user typed or pointed at was wrong: fixing the command line fixes it.
  static const std::set<std::string, std::less<>> kUsage = {
      "wallet.not_found", "wallet.exists",    "keystore.bad_name",  "password.no_source", "password.file",
      "password.mismatch", "password.empty",  "password.too_long", "weights.no_secret"};
  const std::string& c = e.code;
  if (c.rfind("arg.", 0) == 0 || c.rfind("txfile.", 0) == 0 || kUsage.count(c)) return kExitUsage;
  return kExitFailure;
}

Expected<Wallet> open_wallet(const Globals& g) { return Wallet::open(g.wallet_dir); }

Expected<chain::SecretKey> unlock_key(const Globals& g, const Wallet& w, const WalletEntry& entry) {
  PasswordRequest req;
  req.file = g.password_file;
  req.purpose = "key " + entry.name;
  IG_TRY_ASSIGN(password, obtain_password(req));
  return w.unlock(entry, password.view());
}

}  // namespace ig::wallet::cli
