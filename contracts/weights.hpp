// weights: commit-reveal weight vectors (DESIGN §1 step 5).
//
// In epoch e (= height / tempo) a validator commits H(sender, e, weights, salt); in the first
// reveal_window_blocks of epoch e+1 it reveals weights and salt. A reveal that does not match
// its commit is rejected and changes nothing (the commit stays, the stored row stays). A
// revealed row replaces the validator's previous one and feeds Yuma at every epoch boundary
// from the end of e+1 on, until the next reveal replaces it; its reveal height is the
// validator's last_update, so Yuma's activity cutoff retires a row not renewed for
// activity_cutoff blocks (contracts/epoch.cpp).
//
// State (prefix kWeights):
//   'c' || epoch(be64) || account  -> commit hash
//   'r' || account                 -> Row (the latest reveal)
#pragma once

#include "chain/application.hpp"
#include "contracts/params.hpp"

namespace ig::contracts::weights {

struct Row {
  uint64_t reveal_epoch = 0;
  uint64_t reveal_height = 0;
  std::vector<chain::WeightEntry> entries;  // ascending uid, no duplicates
  bool operator==(const Row&) const = default;
};

inline uint64_t epoch_of(const Params& p, uint64_t height) { return height / p.tempo; }

Expected<void> commit(chain::State& s, const Params& p, uint64_t height, const chain::Address& sender,
                      const chain::CommitWeights& c, std::vector<chain::Event>& events);
Expected<void> reveal(chain::State& s, const Params& p, uint64_t height, const chain::Address& sender,
                      const chain::RevealWeights& r, std::vector<chain::Event>& events);

std::optional<Row> get_row(const chain::State& s, const chain::Address& validator_account);
std::optional<chain::Hash> get_commit(const chain::State& s, uint64_t epoch, const chain::Address& account);

}  // namespace ig::contracts::weights
