// Errors as values at module boundaries: a minimal std::expected for C++20.
//
// Every public function that can fail returns Expected<T>; the Error carries a
// machine-readable code (module-defined, e.g. "codec.truncated") and a human
// message. Exceptions never cross a module boundary.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ig {

struct Error {
  std::string code;     // stable, dotted identifier: "codec.trailing_bytes"
  std::string message;  // what went wrong, for a person

  std::string to_string() const { return code + ": " + message; }
};

inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

struct Unexpected {
  Error error;
};

inline Unexpected fail(std::string code, std::string message) {
  return Unexpected{Error{std::move(code), std::move(message)}};
}
inline Unexpected fail(Error e) { return Unexpected{std::move(e)}; }

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Expected(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(v_); }

  template <typename U>
  T value_or(U&& fallback) const& { return has_value() ? value() : static_cast<T>(std::forward<U>(fallback)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Unexpected u) : err_(std::move(u.error)), ok_(false) {}

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { assert(ok_); }
  const Error& error() const { assert(!ok_); return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Expected<void>;

}  // namespace ig

// Propagate an error from an Expected-returning expression; bind the value otherwise.
#define IG_TRY_ASSIGN(var, expr)                              \
  auto var##_result_ = (expr);                                \
  if (!var##_result_) return ::ig::fail(var##_result_.error()); \
  auto var = std::move(*var##_result_)

#define IG_TRY(expr)                                           \
  do {                                                         \
    auto ig_try_result_ = (expr);                              \
    if (!ig_try_result_) return ::ig::fail(ig_try_result_.error()); \
  } while (0)
