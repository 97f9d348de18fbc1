// TEST AND DEMO ONLY. A dishonest miner, so that the devnet and the tests can show cheating
// caught and punished. Never enable it on a real network: a cheated result is slashed.
//
// Kinds:
//   token  — the result's token at one random step is replaced by another token id (its
//            fingerprint claims the new token; the text is re-rendered), as a miner would
//            that skips work or pads an answer. A verifier rejects it at exactly that step.
//   model  — the result is generated with another model file (e.g. a smaller or cheaper one)
//            but claims the task's model.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "workers/model_catalog.hpp"
#include "inference/receipt/result.hpp"

namespace ig::workers {

struct CheatOptions {
  std::string kind;          // "" (honest), "token" or "model"
  uint32_t rate_milli = 0;   // share of tasks to cheat on, in thousandths
  std::string model_path;    // for kind "model": the substitute GGUF
  uint64_t seed = 1;         // which tasks and steps are cheated on
  bool enabled() const { return !kind.empty() && rate_milli > 0; }
};

// Whether task `task_id` is one the cheater cheats on (deterministic in seed and task id).
bool cheats_on(const CheatOptions& c, uint64_t task_id);

// Replaces the token at a step chosen by (seed, task id) with another id below `vocab_size`,
// updates fingerprint, output hash, fingerprint root and text. Returns the altered step.
uint32_t alter_one_token(receipt::TaskResult& r, const CatalogModel& model, const CheatOptions& c, uint64_t task_id);

}  // namespace ig::workers
