// A wallet directory: one keystore file per key, named NAME.json, in a 0700 directory.
//
//   IG_TRY_ASSIGN(w, ig::wallet::Wallet::open(ig::wallet::default_wallet_dir()));
//   IG_TRY_ASSIGN(entry, w.create("alice", password));      // a fresh key
//   IG_TRY_ASSIGN(entry, w.find("alice"));                  // by name or by ig1... address
//   IG_TRY_ASSIGN(key, w.unlock(entry, password));
//
// Error codes: "wallet.not_found", "wallet.exists" (name or address already present),
// "arg.bad_address" (an argument meant as an address that does not decode), plus the keystore
// and file codes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/dir_lock.hpp"
#include "wallet/keystore.hpp"

namespace ig::wallet {

// $INFERGRID_WALLET_DIR when set and non-empty, else $HOME/.infergrid/wallet.
std::string default_wallet_dir();

// Every write into a wallet directory (keystores, weight secrets) happens under DIR/LOCK, so
// two wallet processes cannot both pass "is this name or key new?" and then both write. The
// lock is held for the check and the write only (milliseconds, never across a password prompt
// or a network call), so a writer waits this long for another before giving up ("lock.held",
// naming the holder's pid and label).
inline constexpr std::chrono::milliseconds kWalletLockWait{3000};
Expected<DirLock> lock_wallet_dir(const std::string& dir);

// validate_key_name, and not something that reads as an address ("ig1..."): such a name would
// make "a key name or an address" arguments ambiguous. Code "keystore.bad_name".
Status validate_new_key_name(std::string_view name);

struct WalletEntry {
  std::string name;
  chain::Address address{};
  std::string path;
};

class Wallet {
 public:
  // Creates the directory (0700) when it does not exist.
  static Expected<Wallet> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  std::string path_for(std::string_view name) const;

  // Every readable keystore, sorted by name; *.json files that are not keystores are skipped
  // and reported in `skipped` (path: reason) when given. Other files (LOCK, weights/) are not
  // keystores by name and are passed over silently.
  std::vector<WalletEntry> list(std::vector<std::string>* skipped = nullptr) const;
  // `name_or_address` is a key name or an ig1... address. Text that looks like an address but
  // does not decode fails with the decoder's reason ("arg.bad_address"), unless a key file of
  // exactly that name exists (named before such names were refused).
  Expected<WalletEntry> find(std::string_view name_or_address) const;

  // Both take the directory lock for the duplicate check and the write, and never replace an
  // existing file even without it ("wallet.exists").
  Expected<WalletEntry> create(std::string_view name, std::string_view password, const KdfParams& kdf = {}) const;
  Expected<WalletEntry> import(std::string_view name, const chain::SecretKey& key, std::string_view password,
                               const KdfParams& kdf = {}) const;
  Expected<chain::SecretKey> unlock(const WalletEntry& entry, std::string_view password) const;

 private:
  explicit Wallet(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace ig::wallet
