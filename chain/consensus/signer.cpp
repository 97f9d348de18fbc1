#include "chain/consensus/signer.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <tuple>

namespace ig::chain::bft {

namespace {

constexpr size_t kMaxStateFileBytes = 4096;

std::tuple<uint64_t, uint32_t, uint8_t> hrs(uint64_t h, uint32_t r, SignStep s) {
  return {h, r, static_cast<uint8_t>(s)};
}

}  // namespace

SignStep sign_step_of_vote(uint8_t vote_type) {
  return vote_type == kPrevote ? SignStep::kPrevote : SignStep::kPrecommit;
}

Expected<std::optional<Signature>> check_sign_request(const SignerState& last, uint64_t height, uint32_t round,
                                                      SignStep step, const Hash& sign_hash) {
  if (step == SignStep::kNone) return fail("signer.bad_step", "nothing to sign at step none");
  if (last.step == SignStep::kNone) return std::optional<Signature>{};
  const auto want = hrs(height, round, step), have = hrs(last.height, last.round, last.step);
  if (want > have) return std::optional<Signature>{};
  if (want == have) {
    if (sign_hash == last.sign_hash) return std::optional<Signature>{last.signature};
    return fail("signer.conflict", "already signed different data at height " + std::to_string(height) + " round " +
                                       std::to_string(round) + " step " + std::to_string(static_cast<int>(step)));
  }
  return fail("signer.regression", "height/round/step " + std::to_string(height) + "/" + std::to_string(round) + "/" +
                                       std::to_string(static_cast<int>(step)) + " is not after the last signed " +
                                       std::to_string(last.height) + "/" + std::to_string(last.round) + "/" +
                                       std::to_string(static_cast<int>(last.step)));
}

Expected<Signature> MemorySigner::sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash) {
  IG_TRY_ASSIGN(reuse, check_sign_request(state_, height, round, step, sign_hash));
  if (reuse) return *reuse;
  Signature sig = key_.sign(sign_hash);
  state_ = SignerState{height, round, step, sign_hash, sig};
  return sig;
}

std::string encode_signer_state(const PublicKey& key, const SignerState& s) {
  nlohmann::ordered_json j;
  j["public_key"] = to_hex(key);
  j["height"] = std::to_string(s.height);  // a string: JSON numbers lose u64 precision in many readers
  j["round"] = s.round;
  j["step"] = static_cast<int>(s.step);
  j["sign_hash"] = to_hex(s.sign_hash);
  j["signature"] = to_hex(s.signature);
  return j.dump(2) + "\n";
}

Expected<SignerState> decode_signer_state(std::string_view text, const PublicKey& expected_key) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [](const std::string& why) { return fail("signer.bad_state", "signer state file: " + why); };
  if (!j.is_object()) return bad("not a JSON object");
  for (const char* k : {"public_key", "height", "round", "step", "sign_hash", "signature"})
    if (!j.contains(k)) return bad(std::string("missing \"") + k + "\"");
  if (j.size() != 6) return bad("unexpected fields");
  if (!j["public_key"].is_string() || !j["height"].is_string() || !j["round"].is_number_unsigned() ||
      !j["step"].is_number_unsigned() || !j["sign_hash"].is_string() || !j["signature"].is_string())
    return bad("a field has the wrong type");
  IG_TRY_ASSIGN(key, from_hex_fixed<32>(j["public_key"].get<std::string>()));
  if (key != expected_key)
    return fail("signer.wrong_key", "the signer state belongs to key " + to_hex(key) + ", not to this node's key " +
                                        to_hex(expected_key));
  SignerState s;
  const std::string height = j["height"].get<std::string>();
  if (height.empty() || height.size() > 20 || height.find_first_not_of("0123456789") != std::string::npos)
    return bad("height is not a decimal integer");
  unsigned __int128 hv = 0;
  for (char c : height) hv = hv * 10 + static_cast<unsigned>(c - '0');
  if (hv > UINT64_MAX) return bad("height out of range");
  s.height = static_cast<uint64_t>(hv);
  const uint64_t round = j["round"].get<uint64_t>(), step = j["step"].get<uint64_t>();
  if (round > kMaxRound) return bad("round out of range");
  if (step > 3) return bad("step must be 0..3");
  // Step 0 means "nothing signed yet" and allows any request: only valid as the initial state.
  if (step == 0 && (s.height != 0 || round != 0)) return bad("step 0 (nothing signed) with a height or round");
  s.round = static_cast<uint32_t>(round);
  s.step = static_cast<SignStep>(step);
  IG_TRY_ASSIGN(sh, from_hex_fixed<32>(j["sign_hash"].get<std::string>()));
  IG_TRY_ASSIGN(sig, from_hex_fixed<64>(j["signature"].get<std::string>()));
  s.sign_hash = sh;
  s.signature = sig;
  return s;
}

Expected<std::unique_ptr<FileSigner>> FileSigner::open(const std::string& path, SecretKey key, Options options) {
  const PublicKey pub = key.public_key();
  SignerState state;
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (exists) {
    IG_TRY_ASSIGN(bytes, read_file(path, kMaxStateFileBytes));
    IG_TRY_ASSIGN(loaded, decode_signer_state(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), pub));
    state = loaded;
  }
  std::unique_ptr<FileSigner> signer(new FileSigner(path, std::move(key), std::move(options), state));
  if (!exists) {
    // Written now so that a missing directory or permission problem shows at start, not at the
    // first vote.
    std::string text = encode_signer_state(pub, state);
    IG_TRY(write_file_atomic(path, view(text), signer->options_.fsync));
  }
  return signer;
}

Status FileSigner::save(const SignerState& s) {
  std::string text = encode_signer_state(key_.public_key(), s);
  IG_TRY(write_file_atomic(path_, view(text), options_.fsync));
  if (options_.hook && !options_.hook("signer.state")) {
    dead_ = true;
    return fail("crash.injected", "simulated crash after the signer state write");
  }
  return {};
}

Expected<Signature> FileSigner::sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash) {
  if (dead_) return fail("signer.dead", "the signer stopped after a failed or interrupted state write");
  IG_TRY_ASSIGN(reuse, check_sign_request(state_, height, round, step, sign_hash));
  if (reuse) return *reuse;
  Signature sig = key_.sign(sign_hash);
  SignerState next{height, round, step, sign_hash, sig};
  // Persist first: if this fails, the signature is dropped and never leaves the process. A
  // failed write leaves the old file in place (the rename is the commit point), so the old
  // state stays the truth and a later request may try again.
  IG_TRY(save(next));
  state_ = next;
  return sig;
}

}  // namespace ig::chain::bft
