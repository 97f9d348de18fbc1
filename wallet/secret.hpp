// A string that holds a secret (a password, a hex-encoded key) and wipes its bytes when it dies.
//
// std::string may reallocate and leave copies behind, so SecretString reserves once and never
// grows past its first capacity; callers that need more build a new one.
#pragma once

#include <string>
#include <string_view>

namespace ig::wallet {

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string_view s);
  SecretString(const SecretString& other) : SecretString(other.view()) {}
  SecretString& operator=(const SecretString& other);
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  ~SecretString();

  std::string_view view() const { return s_; }
  bool empty() const { return s_.empty(); }
  size_t size() const { return s_.size(); }
  bool operator==(const SecretString& o) const;  // constant time in the shorter length

 private:
  void wipe();
  std::string s_;
};

// Overwrites a std::string's bytes (whole capacity) before it is released.
void wipe_string(std::string& s);

}  // namespace ig::wallet
