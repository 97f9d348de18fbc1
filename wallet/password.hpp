// Where a password comes from, in order: --password-file FILE (its first line, without the line
// ending), the INFERGRID_PASSWORD environment variable, or a prompt on /dev/tty with echo off
// (asked twice when a new keystore is being created). Shared by the wallet CLI and the node.
//
//   ig::wallet::PasswordRequest req;  req.file = opt_file;  req.purpose = "key alice";  req.confirm = true;
//   IG_TRY_ASSIGN(pw, ig::wallet::obtain_password(req));
//
// Error codes: "password.no_source" (no file, no variable, no terminal), "password.mismatch",
// "password.empty" (only when confirming a new password), "password.file" (unreadable file).
#pragma once

#include <string>

#include "common/expected.hpp"
#include "wallet/secret.hpp"

namespace ig::wallet {

inline constexpr const char* kPasswordEnv = "INFERGRID_PASSWORD";
inline constexpr size_t kMaxPasswordBytes = 4096;

struct PasswordRequest {
  std::string file;       // empty: not given
  std::string purpose;    // shown in the prompt: "Password for key alice: "
  bool confirm = false;   // creating a new keystore: prompt twice, refuse an empty password
  bool use_env = true;    // consult INFERGRID_PASSWORD
  bool allow_prompt = true;  // false for unattended programs (the node): no terminal prompt
  std::string tty_path = "/dev/tty";  // tests point this elsewhere
};

Expected<SecretString> obtain_password(const PasswordRequest& req);

// The first line of a file, without "\n" or "\r\n"; an empty first line is an error.
Expected<SecretString> read_password_file(const std::string& path);

}  // namespace ig::wallet
