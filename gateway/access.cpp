#include "gateway/access.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace ig::gateway {

Status check_key_text(std::string_view key) {
  if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes)
    return fail("gateway.keys", "an API key must be " + std::to_string(kMinKeyBytes) + " to " +
                                    std::to_string(kMaxKeyBytes) + " characters");
  for (char c : key)
    if (c <= ' ' || c > '~') return fail("gateway.keys", "an API key must be printable ASCII without spaces");
  return {};
}

Expected<std::vector<ApiKey>> parse_api_keys(std::string_view text) {
  std::vector<ApiKey> keys;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream words(line);
    std::string key, label, extra;
    if (!(words >> key) || key[0] == '#') continue;
    words >> label;
    if (words >> extra) return fail("gateway.keys", "line " + std::to_string(line_no) + ": expected KEY [LABEL]");
    if (auto st = check_key_text(key); !st) return fail("gateway.keys", "line " + std::to_string(line_no) + ": " + st.error().message);
    if (label.size() > 64) return fail("gateway.keys", "line " + std::to_string(line_no) + ": label longer than 64 characters");
    if (label.empty()) label = "key-" + std::to_string(keys.size() + 1);
    for (const auto& k : keys)
      if (k.key == key) return fail("gateway.keys", "line " + std::to_string(line_no) + ": key listed twice");
    if (keys.size() >= kMaxKeys) return fail("gateway.keys", "more than " + std::to_string(kMaxKeys) + " keys");
    keys.push_back({key, label});
  }
  return keys;
}

Expected<std::vector<ApiKey>> read_api_keys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("gateway.keys", "cannot read " + path);
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > (1u << 20)) return fail("gateway.keys", path + " is larger than 1 MiB");
  }
  auto keys = parse_api_keys(text);
  if (!keys) return fail("gateway.keys", path + ": " + keys.error().message);
  return keys;
}

std::optional<std::string> match_key(const std::vector<ApiKey>& keys, std::optional<std::string_view> authorization) {
  if (!authorization) return std::nullopt;
  std::string_view h = *authorization;
  constexpr std::string_view kScheme = "bearer ";
  if (h.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != kScheme[i]) return std::nullopt;
  std::string_view given = h.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
  std::optional<std::string> found;
  for (const auto& k : keys) {
    // Equal lengths are compared in constant time; lengths are not secret enough to hide.
    if (k.key.size() == given.size() && CRYPTO_memcmp(k.key.data(), given.data(), given.size()) == 0) found = k.label;
  }
  return found;
}

RateLimiter::RateLimiter(double per_minute, double burst, size_t max_clients)
    : per_minute_(per_minute), burst_(std::max(1.0, burst)), max_clients_(std::max<size_t>(1, max_clients)) {}

void RateLimiter::refill(Bucket& b, Clock::time_point now) const {
  const double seconds = std::chrono::duration<double>(now - b.updated).count();
  if (seconds > 0) b.tokens = std::min(burst_, b.tokens + seconds * per_minute_ / 60.0);
  b.updated = std::max(b.updated, now);
}

void RateLimiter::prune(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  // Still too many clients all short of tokens: forget the ones with most left (the least
  // limited), a generous error rather than unbounded memory.
  while (buckets_.size() >= max_clients_) {
    auto most = std::max_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.tokens < b.second.tokens; });
    buckets_.erase(most);
  }
}

std::optional<double> RateLimiter::take(const std::string& client, Clock::time_point now) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) prune(now);
    it = buckets_.emplace(client, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  return (1.0 - b.tokens) * 60.0 / per_minute_;
}

size_t RateLimiter::clients() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace ig::gateway
