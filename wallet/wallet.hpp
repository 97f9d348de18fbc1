// The wallet library's public surface (ig_wallet). Usage and file formats: docs/wallet.md.
//   wallet/keystore.hpp    encrypted keystore files: write_keystore, read_keystore, read_keystore_info
//   wallet/wallet_dir.hpp  a directory of keystores: Wallet::open / list / find / create / import / unlock
//   wallet/password.hpp    password from --password-file, INFERGRID_PASSWORD or a terminal prompt
//   wallet/transaction.hpp any payload: TxSpec, sign_payload, minimum_fee, signed-tx files, tx_to_json
//   wallet/transfer.hpp    transfers over transaction.hpp: TransferSpec, sign_transfer
//   wallet/payload_args.hpp strict parsing of roles, milli decimals, weights, model ids, evidence
//   wallet/weights_file.hpp the saved salt between CommitWeights and RevealWeights
//   wallet/parse.hpp       strict parsing of amounts, addresses, chain ids, memos, secrets, hashes
//   wallet/secret.hpp      SecretString, wiped on destruction
// seal.hpp and secure_file.hpp are internal building blocks.
#pragma once

#include "wallet/keystore.hpp"
#include "wallet/parse.hpp"
#include "wallet/password.hpp"
#include "wallet/payload_args.hpp"
#include "wallet/secret.hpp"
#include "wallet/transaction.hpp"
#include "wallet/transfer.hpp"
#include "wallet/wallet_dir.hpp"
#include "wallet/weights_file.hpp"
