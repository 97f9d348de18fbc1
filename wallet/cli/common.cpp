#include <string_view>

#include "wallet/cli/cli.hpp"
#include "wallet/password.hpp"

namespace ig::wallet::cli {

int exit_code_for(const Error& e) {
  const std::string& c = e.code;
  auto starts = [&](std::string_view p) { return c.rfind(p, 0) == 0; };
  if (starts("arg.") || starts("wallet.") || starts("txfile.") || c == "keystore.bad_name" ||
      c == "password.no_source" || c == "password.file" || c == "password.mismatch" || c == "password.empty" ||
      c == "password.too_long")
    return kExitUsage;
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
