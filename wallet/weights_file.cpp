#include "wallet/weights_file.hpp"

#include <openssl/rand.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "wallet/secure_file.hpp"
#include "wallet/wallet_dir.hpp"

namespace ig::wallet {

using json = nlohmann::json;
namespace fs = std::filesystem;

Expected<chain::Hash> random_salt() {
  chain::Hash salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return fail("wallet.rng", "the system random generator failed");
  return salt;
}

chain::Hash commitment(const WeightsSecret& s) { return chain::weights_commit_hash(s.validator, s.epoch, s.weights, s.salt); }

chain::Payload commit_payload(const WeightsSecret& s) { return chain::CommitWeights{s.epoch, commitment(s)}; }

chain::Payload reveal_payload(const WeightsSecret& s) { return chain::RevealWeights{s.epoch, s.weights, s.salt}; }

std::string weights_secret_path(const std::string& wallet_dir, const chain::Address& validator, uint64_t epoch) {
  return wallet_dir + "/weights/" + chain::address_to_string(validator) + "-" + std::to_string(epoch) + ".json";
}

Status save_weights_secret(const std::string& wallet_dir, const WeightsSecret& s) {
  IG_TRY(ensure_private_dir(wallet_dir + "/weights"));
  json ws = json::array();
  for (const auto& e : s.weights) ws.push_back({{"uid", e.uid}, {"weight", e.weight}});
  json doc = {{"validator", chain::address_to_string(s.validator)},
              {"epoch", s.epoch},
              {"weights", ws},
              {"salt", chain::to_hex(s.salt)},
              {"commit", chain::to_hex(commitment(s))}};
  IG_TRY_ASSIGN(lock, lock_wallet_dir(wallet_dir));
  return write_file_atomic(weights_secret_path(wallet_dir, s.validator, s.epoch), doc.dump(2) + "\n", /*overwrite=*/false);
}

Status remove_weights_secret(const std::string& wallet_dir, const chain::Address& validator, uint64_t epoch) {
  IG_TRY_ASSIGN(lock, lock_wallet_dir(wallet_dir));
  const std::string path = weights_secret_path(wallet_dir, validator, epoch);
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return fail("file.remove", "cannot remove " + path + ": " + ec.message());
  return {};
}

namespace {

Expected<WeightsSecret> parse_secret(const std::string& path, const std::string& text) {
  auto bad = [&](const std::string& why) { return fail("weights.bad_secret", path + ": " + why); };
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return bad("not a JSON object");
  WeightsSecret s;
  auto addr = chain::address_from_string(doc.value("validator", std::string()));
  if (!addr) return bad("no valid \"validator\" address");
  s.validator = *addr;
  if (!doc.contains("epoch") || !doc["epoch"].is_number_unsigned()) return bad("no \"epoch\"");
  s.epoch = doc["epoch"].get<uint64_t>();
  auto salt = chain::from_hex_fixed<32>(doc.value("salt", std::string()));
  if (!salt) return bad("no 32-byte hex \"salt\"");
  s.salt = *salt;
  if (!doc.contains("weights") || !doc["weights"].is_array()) return bad("no \"weights\" array");
  for (const auto& e : doc["weights"]) {
    if (!e.is_object() || !e.contains("uid") || !e.contains("weight") || !e["uid"].is_number_unsigned() ||
        !e["weight"].is_number_unsigned() || e["uid"].get<uint64_t>() > 65535 || e["weight"].get<uint64_t>() > 65535)
      return bad("a weights entry is not {\"uid\": 0..65535, \"weight\": 0..65535}");
    s.weights.push_back({e["uid"].get<uint16_t>(), e["weight"].get<uint16_t>()});
  }
  return s;
}

}  // namespace

Expected<WeightsSecret> load_weights_secret(const std::string& wallet_dir, const chain::Address& validator, uint64_t epoch) {
  const std::string path = weights_secret_path(wallet_dir, validator, epoch);
  std::error_code ec;
  if (!fs::exists(path, ec))
    return fail("weights.no_secret", "no saved weights for " + chain::address_to_string(validator) + " in epoch " +
                                         std::to_string(epoch) + " (expected " + path + ")");
  IG_TRY_ASSIGN(text, read_small_file(path, 1 << 20));
  IG_TRY_ASSIGN(s, parse_secret(path, text));
  if (s.validator != validator || s.epoch != epoch) return fail("weights.bad_secret", path + " names another validator or epoch");
  return s;
}

std::optional<uint64_t> latest_secret_epoch(const std::string& wallet_dir, const chain::Address& validator) {
  const std::string prefix = chain::address_to_string(validator) + "-";
  std::optional<uint64_t> best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(wallet_dir + "/weights", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() + 5 || name.substr(name.size() - 5) != ".json") continue;
    std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - 5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 19) continue;
    uint64_t e = std::stoull(digits);
    if (!best || e > *best) best = e;
  }
  return best;
}

}  // namespace ig::wallet
