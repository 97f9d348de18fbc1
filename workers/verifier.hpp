// The verifier worker (DESIGN §1 step 4-5, docs/workers.md), run beside a validator and
// signing with the validator's account:
//   - sees every result (`task_result` events), decides which to check from a seed the miner
//     cannot know when it submits — H(hash of the block that included the result ‖ task id ‖
//     validator account) against sample_ppm — and re-checks those by one teacher-forced
//     prefill (exact mode when the receipt's backend tag is its own, tolerant otherwise);
//   - posts a Verdict: accept, or reject with the first bad step and the evidence the chain
//     checks (the miner's fingerprint there, its Merkle proof, the recomputed fingerprint);
//   - re-checks with priority any task another validator rejected;
//   - keeps per-miner tallies (verified, rejected, missed deadlines, latency) and each epoch
//     turns them into weights (scoring.hpp) that it commits, then reveals in the next epoch's
//     reveal window. The salt is saved before the commit is sent, so a restart loses nothing.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/address.hpp"
#include "chain/keys.hpp"
#include "common/sha256.hpp"
#include "chain/payloads.hpp"
#include "common/expected.hpp"
#include "inference/receipt/verifier.hpp"
#include "kernels/kernels.hpp"

namespace ig::workers {

struct VerifierOptions {
  std::string node_url = "ws://127.0.0.1:8546";
  std::optional<chain::SecretKey> key;                  // the validator's account key (not its consensus key)
  std::vector<std::string> model_paths;  // results for other models are left to other validators
  std::string state_dir;                 // journal, weight secrets, lock; created 0700
  kernels::BackendKind backend = kernels::BackendKind::Cpu;
  int threads = 1;
  uint32_t sample_ppm = 1'000'000;       // share of results checked, in millionths (default all)
};

struct VerifierStats {
  uint64_t seen = 0;       // results seen
  uint64_t sampled = 0;    // chosen for a check
  uint64_t accepted = 0;   // verdicts posted
  uint64_t rejected = 0;
  uint64_t too_late = 0;   // checked, but the task's verdict window closed meanwhile: no verdict sent
  uint64_t commits = 0;    // weight commits sent
  uint64_t reveals = 0;
  double verify_seconds = 0;  // time spent re-checking
  uint64_t verified_tokens = 0;
};

class VerifierWorker {
 public:
  static Expected<std::unique_ptr<VerifierWorker>> create(VerifierOptions options);
  ~VerifierWorker();

  // Errors: "verifier.not_validator" when the account backs no active validator, "lock.held",
  // the catalog's and the link's codes.
  Status start();
  void stop();
  Status wait();
  VerifierStats stats() const;

 private:
  struct Impl;
  explicit VerifierWorker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct CatalogModel;

// How the verifier worker checks one result (docs/verification.md): EXACT mode exactly when
// the receipt's numerics tag — the backend family and its numerics revision, which names the
// build's kernels (kernels.hpp; a kernel change that moves a bit bumps it) — is the verifier
// backend's own; TOLERANT mode otherwise, with the calibrated tolerances of the model's noise
// class and the drift test over the whole output on top. The verdict's code names the check
// that failed, and becomes the reason of the posted Verdict (chain_verdict).
Expected<receipt::Verdict> check_result(const CatalogModel& model, kernels::Backend& backend,
                                        const receipt::TaskResult& result);

// The Verdict transaction a checked result becomes: an accept, or a reject with its code as
// the reason and, when the verdict proves a step, the StepEvidence (the recomputed fingerprint
// that differs from the claim). "verifier.unposted" for a reject the chain would refuse: no
// step proof and a reason it could check itself.
Expected<chain::Verdict> chain_verdict(uint64_t task_id, const receipt::Verdict& v);

// Whether the validator `account` checks the result of `task_id` included in block
// `block_hash`: the first 8 bytes (LE) of SHA-256(block_hash ‖ task_id u64 LE ‖ account) modulo
// 1,000,000 below sample_ppm. The miner cannot know the block hash when it submits.
bool sampled_for_check(const Hash32& block_hash, uint64_t task_id, const chain::Address& account, uint32_t sample_ppm);

}  // namespace ig::workers
