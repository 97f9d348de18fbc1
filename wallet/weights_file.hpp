// The secret half of a weight commitment: between CommitWeights and RevealWeights the wallet
// keeps {validator, epoch, weights, salt} in WALLET_DIR/weights/ADDRESS-EPOCH.json (mode 0600),
// so the reveal can be sent later, from another process, with exactly what was committed.
//
//   WeightsSecret s{sender, epoch, weights, random_salt()};
//   chain::Hash commit = commitment(s);                      // goes into CommitWeights
//   IG_TRY(save_weights_secret(wallet.dir(), s));
//   ... next epoch ...
//   IG_TRY_ASSIGN(s2, load_weights_secret(wallet.dir(), sender, epoch));
//   chain::Payload p = reveal_payload(s2);
#pragma once

#include <string>
#include <vector>

#include "chain/payloads.hpp"
#include "common/expected.hpp"

namespace ig::wallet {

struct WeightsSecret {
  chain::Address validator{};
  uint64_t epoch = 0;
  std::vector<chain::WeightEntry> weights;  // ascending uid
  chain::Hash salt{};
  bool operator==(const WeightsSecret&) const = default;
};

// 32 bytes from the operating system's CSPRNG. Code "wallet.rng" when it is unavailable.
Expected<chain::Hash> random_salt();

chain::Hash commitment(const WeightsSecret& s);
chain::Payload commit_payload(const WeightsSecret& s);
chain::Payload reveal_payload(const WeightsSecret& s);

std::string weights_secret_path(const std::string& wallet_dir, const chain::Address& validator, uint64_t epoch);
// Refuses to overwrite an existing file ("file.exists"): a second commit for the same epoch
// would be rejected by the chain, and losing the first salt would make its reveal impossible.
// Writes under the wallet directory's lock (lock_wallet_dir).
Status save_weights_secret(const std::string& wallet_dir, const WeightsSecret& s);
// Deletes a saved secret (a commit the chain refused), under the wallet directory's lock.
// Deleting one that is not there is not an error.
Status remove_weights_secret(const std::string& wallet_dir, const chain::Address& validator, uint64_t epoch);
// Code "weights.no_secret" when there is no file for that validator and epoch,
// "weights.bad_secret" when the file is malformed or names another validator or epoch.
Expected<WeightsSecret> load_weights_secret(const std::string& wallet_dir, const chain::Address& validator, uint64_t epoch);
// The highest epoch with a saved secret for this validator, if any.
std::optional<uint64_t> latest_secret_epoch(const std::string& wallet_dir, const chain::Address& validator);

}  // namespace ig::wallet
