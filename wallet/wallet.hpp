// The wallet library's public surface (ig_wallet). Usage and file formats: docs/wallet.md.
//   wallet/keystore.hpp    encrypted keystore files: write_keystore, read_keystore, read_keystore_info
//   wallet/wallet_dir.hpp  a directory of keystores: Wallet::open / list / find / create / import / unlock
//   wallet/password.hpp    password from --password-file, INFERGRID_PASSWORD or a terminal prompt
//   wallet/transfer.hpp    building and signing transfers, minimum fee, signed-transaction files
//   wallet/parse.hpp       strict parsing of amounts, addresses, chain ids, memos, secrets, hashes
//   wallet/secret.hpp      SecretString, wiped on destruction
// seal.hpp and secure_file.hpp are internal building blocks.
#pragma once

#include "wallet/keystore.hpp"
#include "wallet/parse.hpp"
#include "wallet/password.hpp"
#include "wallet/secret.hpp"
#include "wallet/transfer.hpp"
#include "wallet/wallet_dir.hpp"
