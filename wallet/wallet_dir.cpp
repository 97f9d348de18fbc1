#include "wallet/wallet_dir.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "wallet/parse.hpp"
#include "wallet/secure_file.hpp"

namespace ig::wallet {

namespace fs = std::filesystem;

std::string default_wallet_dir() {
  if (const char* d = std::getenv("INFERGRID_WALLET_DIR"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.infergrid/wallet";
}

Expected<DirLock> lock_wallet_dir(const std::string& dir) {
  return DirLock::acquire_waiting(dir, "infergrid-wallet", kWalletLockWait);
}

Expected<Wallet> Wallet::open(const std::string& dir) {
  IG_TRY(ensure_private_dir(dir));
  return Wallet(dir);
}

std::string Wallet::path_for(std::string_view name) const { return (fs::path(dir_) / (std::string(name) + ".json")).string(); }

std::vector<WalletEntry> Wallet::list(std::vector<std::string>* skipped) const {
  std::vector<WalletEntry> out;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(dir_, ec)) {
    const fs::path& p = de.path();
    if (p.extension() != ".json" || !de.is_regular_file(ec)) continue;
    auto info = read_keystore_info(p.string());
    if (!info) {
      if (skipped) skipped->push_back(p.string() + ": " + info.error().message);
      continue;
    }
    // The file name is the lookup key, so a file renamed by hand must not pose as another key.
    if (p.stem().string() != info->name) {
      if (skipped) skipped->push_back(p.string() + ": file name does not match key name \"" + info->name + "\"");
      continue;
    }
    out.push_back(WalletEntry{info->name, info->address, p.string()});
  }
  std::sort(out.begin(), out.end(), [](const WalletEntry& a, const WalletEntry& b) { return a.name < b.name; });
  return out;
}

Expected<WalletEntry> Wallet::find(std::string_view name_or_address) const {
  if (auto addr = chain::address_from_string(name_or_address)) {
    for (auto& e : list())
      if (e.address == *addr) return e;
    return fail("wallet.not_found", "no key for address " + std::string(name_or_address) + " in " + dir_);
  }
  const bool name_ok = validate_key_name(name_or_address).has_value();
  const std::string path = name_ok ? path_for(name_or_address) : std::string();
  std::error_code ec;
  const bool file_exists = name_ok && fs::exists(path, ec);
  // A mistyped address is an address with a typo, not an unknown key name: say what is wrong
  // with it. A key file of exactly that name (allowed before validate_new_key_name) still wins.
  if (looks_like_address(name_or_address) && !file_exists) return fail(parse_address(name_or_address).error());
  if (!name_ok)
    return fail("wallet.not_found", quoted(name_or_address) + " is neither a key name nor an ig1 address");
  if (!file_exists)
    return fail("wallet.not_found", "no key named " + quoted(name_or_address) + " in " + dir_);
  IG_TRY_ASSIGN(info, read_keystore_info(path));
  if (info.name != name_or_address)
    return fail("keystore.malformed", path + " holds key \"" + info.name + "\", not \"" + std::string(name_or_address) + "\"");
  return WalletEntry{info.name, info.address, path};
}

Status validate_new_key_name(std::string_view name) {
  IG_TRY(validate_key_name(name));
  if (looks_like_address(name))
    return fail("keystore.bad_name", "a key name must not look like an address (" + quoted(name) +
                                         " starts with \"ig1\" or is bech32m); choose another name");
  return {};
}

Expected<WalletEntry> Wallet::create(std::string_view name, std::string_view password, const KdfParams& kdf) const {
  return import(name, chain::SecretKey::generate(), password, kdf);
}

Expected<WalletEntry> Wallet::import(std::string_view name, const chain::SecretKey& key, std::string_view password,
                                     const KdfParams& kdf) const {
  IG_TRY(validate_new_key_name(name));
  const chain::Address address = key.public_key();
  // scrypt runs before the lock is taken: it is the slow part, and needs nothing from the directory.
  IG_TRY_ASSIGN(text, encrypt_keystore(name, key, password, kdf));
  IG_TRY_ASSIGN(lock, lock_wallet_dir(dir_));
  for (auto& e : list())
    if (e.address == address)
      return fail("wallet.exists", "this key is already in the wallet as \"" + e.name + "\"");
  const std::string path = path_for(name);
  auto written = write_file_atomic(path, text, /*overwrite=*/false);
  if (!written && written.error().code == "file.exists")
    return fail("wallet.exists", "a key named \"" + std::string(name) + "\" already exists");
  IG_TRY(written);
  return WalletEntry{std::string(name), address, path};
}

Expected<chain::SecretKey> Wallet::unlock(const WalletEntry& entry, std::string_view password) const {
  return read_keystore(entry.path, password);
}

}  // namespace ig::wallet
