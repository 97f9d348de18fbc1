// The consensus signer: the only holder of the validator's consensus key, and the last line of
// defence against double-signing (docs/consensus.md "Signer state").
//
// It remembers the last (height, round, step) it signed with the hash of the signed message and
// the signature, and follows CometBFT's privval rules:
//   - a request at a strictly later (height, round, step) is signed;
//   - a request at the same (height, round, step) with the same sign hash returns the stored
//     signature (the node crashed after signing and before its WAL recorded the message);
//   - anything else is refused: an earlier (height, round, step) ("signer.regression") or the
//     same one with different bytes ("signer.conflict").
// Step order within a round: propose < prevote < precommit. The FileSigner persists the new
// state atomically (temporary file, fsync, rename, directory fsync; mode 0600) BEFORE the
// signature is returned, so no signature can leave the process unrecorded.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "chain/consensus/file_io.hpp"
#include "chain/consensus/messages.hpp"
#include "chain/keys.hpp"

namespace ig::chain::bft {

enum class SignStep : uint8_t { kNone = 0, kPropose = 1, kPrevote = 2, kPrecommit = 3 };
SignStep sign_step_of_vote(uint8_t vote_type);  // kPrevote/kPrecommit for types 1/2

struct SignerState {
  uint64_t height = 0;
  uint32_t round = 0;
  SignStep step = SignStep::kNone;  // kNone: nothing signed yet
  Hash sign_hash{};
  Signature signature{};
  bool operator==(const SignerState&) const = default;
};

// The rules above, as a pure function of the last state and the request: a signature to reuse,
// nullopt for "sign this new (height, round, step)", or the refusal.
Expected<std::optional<Signature>> check_sign_request(const SignerState& last, uint64_t height, uint32_t round,
                                                      SignStep step, const Hash& sign_hash);

class Signer {
 public:
  virtual ~Signer() = default;
  virtual PublicKey public_key() const = 0;
  // Signs `sign_hash` (a proposal_signing_hash or vote_signing_hash) at (height, round, step).
  virtual Expected<Signature> sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash) = 0;
};

// The rules without persistence: for simulations and tests that never restart a node.
class MemorySigner final : public Signer {
 public:
  explicit MemorySigner(SecretKey key) : key_(std::move(key)) {}
  PublicKey public_key() const override { return key_.public_key(); }
  Expected<Signature> sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash) override;
  const SignerState& state() const { return state_; }

 private:
  SecretKey key_;
  SignerState state_;
};

// The state file is JSON, for operators:
//   {"public_key": hex, "height": "<decimal>", "round": n, "step": 0..3,
//    "sign_hash": hex, "signature": hex}
// A file written for another key is refused ("signer.wrong_key"): moving a key to a new home
// must bring its state along, never start from zero.
class FileSigner final : public Signer {
 public:
  struct Options {
    bool fsync = true;     // tests that simulate crashes themselves may skip the fsyncs
    DurabilityHook hook;   // test-only crash injection, called after each state write
  };
  // Loads the state file, or creates it (nothing signed yet) when it does not exist.
  static Expected<std::unique_ptr<FileSigner>> open(const std::string& path, SecretKey key, Options options);
  static Expected<std::unique_ptr<FileSigner>> open(const std::string& path, SecretKey key) {
    return open(path, std::move(key), Options{});
  }

  PublicKey public_key() const override { return key_.public_key(); }
  Expected<Signature> sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash) override;
  const SignerState& state() const { return state_; }
  const std::string& path() const { return path_; }

 private:
  FileSigner(std::string path, SecretKey key, Options options, SignerState state)
      : path_(std::move(path)), key_(std::move(key)), options_(std::move(options)), state_(state) {}
  Status save(const SignerState& s);

  std::string path_;
  SecretKey key_;
  Options options_;
  SignerState state_;
  bool dead_ = false;  // a crash was injected: sign nothing more
};

std::string encode_signer_state(const PublicKey& key, const SignerState& s);
Expected<SignerState> decode_signer_state(std::string_view json, const PublicKey& expected_key);

}  // namespace ig::chain::bft
