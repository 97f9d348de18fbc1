// Who may use the gateway, and how often: API keys (`Authorization: Bearer KEY`) and a
// per-key token-bucket rate limit (docs/gateway.md, "Keys and limits").
//
// With no key configured the gateway is open, which it allows only on a loopback address
// (checked at start), and the rate limit applies per client address instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"

namespace ig::gateway {

struct ApiKey {
  std::string key;
  std::string label;  // names the key in logs and metrics (never the key itself)
};

inline constexpr size_t kMinKeyBytes = 16;
inline constexpr size_t kMaxKeyBytes = 256;
inline constexpr size_t kMaxKeys = 10000;

// A keys file: one key per line, optionally followed by whitespace and a label; blank lines
// and lines starting with '#' are skipped. Keys are 16–256 printable ASCII characters without
// spaces; labels default to "key-N" (the line's 1-based index among keys). Errors
// ("gateway.keys") name the line; a file over 1 MiB is refused unread.
Expected<std::vector<ApiKey>> read_api_keys(const std::string& path);
Expected<std::vector<ApiKey>> parse_api_keys(std::string_view text);
// A key given on the command line (--api-key), labelled "cli-N".
Status check_key_text(std::string_view key);

// The label of the key an Authorization header carries, or nullopt (absent header, another
// scheme, unknown key). Compares in constant time per key, so timing says nothing of a key.
std::optional<std::string> match_key(const std::vector<ApiKey>& keys, std::optional<std::string_view> authorization);

// Token buckets, one per client (key label or address). `per_minute` tokens refill evenly;
// `burst` is the bucket size. Bounded: beyond `max_clients` buckets, full ones are dropped
// first (a full bucket is the same as none), so many addresses cannot grow it without end.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double per_minute, double burst, size_t max_clients = 100000);

  // Takes one token: nullopt when allowed, else the seconds until a token is due.
  std::optional<double> take(const std::string& client, Clock::time_point now = Clock::now());
  bool enabled() const { return per_minute_ > 0; }
  size_t clients() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void refill(Bucket& b, Clock::time_point now) const;
  void prune(Clock::time_point now);

  double per_minute_, burst_;
  size_t max_clients_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace ig::gateway
