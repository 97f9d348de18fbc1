// Key management: new, import, list, address. None of them talks to a node.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "wallet/cli/cli.hpp"
#include "wallet/parse.hpp"
#include "wallet/password.hpp"
#include "wallet/secure_file.hpp"

namespace ig::wallet::cli {
namespace {

struct NewArgs {
  std::string name;
};

struct ImportArgs {
  std::string name;
  std::string secret_file;  // "-" is stdin
  std::string secret_hex;
};

struct AddressArgs {
  std::string name;
};

Output key_output(const WalletEntry& e, const std::string& verb) {
  Output out;
  const std::string address = chain::address_to_string(e.address);
  out.data = {{"name", e.name}, {"address", address}, {"file", e.path}};
  out.text = verb + " key " + e.name + "\naddress: " + address + "\nfile:    " + e.path + "\n";
  return out;
}

Expected<SecretString> new_password(const Globals& g, const std::string& name) {
  PasswordRequest req;
  req.file = g.password_file;
  req.purpose = "key " + name;
  req.confirm = true;
  return obtain_password(req);
}

Expected<Output> run_new(const Globals& g, const NewArgs& a) {
  IG_TRY(validate_new_key_name(a.name));
  IG_TRY_ASSIGN(w, open_wallet(g));
  if (auto existing = w.find(a.name))
    return fail("wallet.exists", "a key named \"" + a.name + "\" already exists");
  IG_TRY_ASSIGN(password, new_password(g, a.name));
  IG_TRY_ASSIGN(entry, w.create(a.name, password.view()));
  return key_output(entry, "created");
}

Expected<std::string> read_stdin_secret() {
  std::string text;
  text.reserve(1024);
  char buf[256];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (text.size() + static_cast<size_t>(n) > 1000) {
      wipe_string(text);
      return fail("arg.bad_secret", "standard input holds more than a hex secret key");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

Expected<chain::SecretKey> secret_from_args(const ImportArgs& a) {
  if (!a.secret_hex.empty()) return parse_secret_hex(a.secret_hex);
  if (a.secret_file.empty())
    return fail("arg.missing_secret", "give the secret key with --secret-file FILE (or - for standard input) or --secret-hex HEX");
  std::string text;
  if (a.secret_file == "-") {
    IG_TRY_ASSIGN(t, read_stdin_secret());
    text = std::move(t);
  } else {
    auto t = read_small_file(a.secret_file, 1000);
    if (!t) return fail("arg.secret_file", "cannot read secret file: " + t.error().message);
    text = std::move(*t);
  }
  auto key = parse_secret_hex(text);
  wipe_string(text);
  return key;
}

Expected<Output> run_import(const Globals& g, const ImportArgs& a) {
  IG_TRY(validate_new_key_name(a.name));
  IG_TRY_ASSIGN(key, secret_from_args(a));
  IG_TRY_ASSIGN(w, open_wallet(g));
  if (auto existing = w.find(a.name))
    return fail("wallet.exists", "a key named \"" + a.name + "\" already exists");
  IG_TRY_ASSIGN(password, new_password(g, a.name));
  IG_TRY_ASSIGN(entry, w.import(a.name, key, password.view()));
  return key_output(entry, "imported");
}

Expected<Output> run_list(const Globals& g) {
  IG_TRY_ASSIGN(w, open_wallet(g));
  std::vector<std::string> skipped;
  auto entries = w.list(&skipped);
  for (const auto& s : skipped) std::cerr << "warning: skipped " << s << "\n";
  Output out;
  out.data = {{"wallet_dir", w.dir()}, {"keys", json::array()}};
  for (const auto& e : entries) {
    const std::string address = chain::address_to_string(e.address);
    out.data["keys"].push_back({{"name", e.name}, {"address", address}, {"file", e.path}});
    out.text += e.name + std::string(e.name.size() < 16 ? 16 - e.name.size() : 1, ' ') + address + "\n";
  }
  if (entries.empty()) out.text = "no keys in " + w.dir() + " (create one with: infergrid-wallet new --name NAME)\n";
  return out;
}

Expected<Output> run_address(const Globals& g, const AddressArgs& a) {
  IG_TRY_ASSIGN(w, open_wallet(g));
  IG_TRY_ASSIGN(e, w.find(a.name));
  Output out;
  const std::string address = chain::address_to_string(e.address);
  out.data = {{"name", e.name}, {"address", address}};
  out.text = address + "\n";
  return out;
}

}  // namespace

void add_key_commands(CLI::App& app, const Globals& g, Action& chosen) {
  auto na = std::make_shared<NewArgs>();
  auto* cmd_new = app.add_subcommand("new", "Create a new key and store it encrypted");
  cmd_new->add_option("--name", na->name, "Name of the key (letters, digits, . _ -)")->required();
  cmd_new->callback([&, na] { chosen = [&g, na] { return run_new(g, *na); }; });

  auto ia = std::make_shared<ImportArgs>();
  auto* cmd_import = app.add_subcommand("import", "Import an existing 32-byte secret key");
  cmd_import->add_option("--name", ia->name, "Name of the key")->required();
  auto* file_opt = cmd_import->add_option("--secret-file", ia->secret_file, "File holding the secret key in hex; - for stdin");
  auto* hex_opt = cmd_import->add_option("--secret-hex", ia->secret_hex, "The secret key in hex (ends up in shell history)");
  file_opt->excludes(hex_opt);
  cmd_import->callback([&, ia] { chosen = [&g, ia] { return run_import(g, *ia); }; });

  auto* cmd_list = app.add_subcommand("list", "List the keys in the wallet directory");
  cmd_list->callback([&] { chosen = [&g] { return run_list(g); }; });

  auto aa = std::make_shared<AddressArgs>();
  auto* cmd_address = app.add_subcommand("address", "Print the address of a key");
  cmd_address->add_option("name", aa->name, "Key name")->required();
  cmd_address->callback([&, aa] { chosen = [&g, aa] { return run_address(g, *aa); }; });
}

}  // namespace ig::wallet::cli
