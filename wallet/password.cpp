#include "wallet/password.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iterator>
#include <cstdlib>
#include <cstring>

#include "wallet/secure_file.hpp"

namespace ig::wallet {

namespace {

std::string_view first_line(std::string_view text) {
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// While echo is off, a signal that ends the process (Ctrl-C at the prompt) must not leave the
// terminal silent: these handlers restore it and then re-deliver the signal.
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
volatile sig_atomic_t g_quiet_fd = -1;
termios g_saved_termios{};
struct sigaction g_old_actions[std::size(kStopSignals)];

extern "C" void restore_terminal_and_reraise(int sig) {
  if (g_quiet_fd >= 0) ::tcsetattr(g_quiet_fd, TCSANOW, &g_saved_termios);  // async-signal-safe
  for (size_t i = 0; i < std::size(kStopSignals); ++i)
    if (kStopSignals[i] == sig) ::sigaction(sig, &g_old_actions[i], nullptr);
  ::raise(sig);
}

// Echo is restored by the destructor, also when the read fails. Switching echo off flushes
// typed-ahead input (as getpass does) so nothing typed before the prompt is taken or shown.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    g_saved_termios = saved_;
    g_quiet_fd = fd_;
    struct sigaction sa {};
    sa.sa_handler = restore_terminal_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kStopSignals); ++i) ::sigaction(kStopSignals[i], &sa, &g_old_actions[i]);
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
    installed_ = true;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    if (installed_) {
      for (size_t i = 0; i < std::size(kStopSignals); ++i) ::sigaction(kStopSignals[i], &g_old_actions[i], nullptr);
      g_quiet_fd = -1;
    }
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
  bool installed_ = false;
};

class Tty {
 public:
  explicit Tty(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC)) {}
  ~Tty() {
    if (fd_ >= 0) ::close(fd_);
  }
  Tty(const Tty&) = delete;
  Tty& operator=(const Tty&) = delete;
  bool ok() const { return fd_ >= 0; }

  void write_text(std::string_view s) const {
    while (!s.empty()) {
      ssize_t n = ::write(fd_, s.data(), s.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      s.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads one line byte by byte so nothing past the newline is consumed or buffered.
  Expected<SecretString> read_secret_line(std::string_view prompt) const {
    EchoOff quiet(fd_);
    write_text(prompt);
    std::string line;
    line.reserve(kMaxPasswordBytes + 1);
    for (;;) {
      char c;
      ssize_t n = ::read(fd_, &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || c == '\n') break;
      if (line.size() >= kMaxPasswordBytes) {
        wipe_string(line);
        return fail("password.too_long", "password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
      }
      line.push_back(c);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    SecretString out(line);
    wipe_string(line);
    return out;
  }

 private:
  int fd_;
};

Expected<SecretString> prompt_password(const PasswordRequest& req) {
  Tty tty(req.tty_path);
  if (!tty.ok())
    return fail("password.no_source", "no password given and no terminal to ask on: use --password-file FILE or set " +
                                          std::string(kPasswordEnv));
  const std::string what = req.purpose.empty() ? "" : " for " + req.purpose;
  IG_TRY_ASSIGN(first, tty.read_secret_line((req.confirm ? "New password" : "Password") + what + ": "));
  if (!req.confirm) return first;
  if (first.empty()) return fail("password.empty", "the password must not be empty");
  IG_TRY_ASSIGN(second, tty.read_secret_line("Repeat password: "));
  if (!(first == second)) return fail("password.mismatch", "the passwords do not match");
  return first;
}

}  // namespace

Expected<SecretString> read_password_file(const std::string& path) {
  auto text = read_small_file(path, 64 * 1024);
  if (!text) return fail("password.file", "cannot read password file: " + text.error().message);
  std::string_view line = first_line(*text);
  SecretString out(line);
  wipe_string(*text);
  if (out.empty()) return fail("password.file", "password file " + path + " has an empty first line");
  if (out.size() > kMaxPasswordBytes)
    return fail("password.too_long", "password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  return out;
}

Expected<SecretString> obtain_password(const PasswordRequest& req) {
  if (!req.file.empty()) return read_password_file(req.file);
  if (req.use_env) {
    if (const char* env = std::getenv(kPasswordEnv); env && *env) {
      if (std::strlen(env) > kMaxPasswordBytes)
        return fail("password.too_long", std::string(kPasswordEnv) + " is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
      return SecretString(env);
    }
  }
  if (!req.allow_prompt)
    return fail("password.no_source", "no password given: use --password-file FILE or set " + std::string(kPasswordEnv));
  return prompt_password(req);
}

}  // namespace ig::wallet
