// Password sources: file, environment, a real pseudo-terminal, and no source at all.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "fixtures.hpp"
#include "wallet/password.hpp"

namespace ig::wallet {
namespace {

using testing::ScratchDir;

PasswordRequest from_file(const std::string& file) {
  PasswordRequest r;
  r.file = file;
  return r;
}

PasswordRequest from_tty(const std::string& tty, const std::string& purpose = "", bool confirm = false) {
  PasswordRequest r;
  r.tty_path = tty;
  r.purpose = purpose;
  r.confirm = confirm;
  return r;
}

// Runs each test with INFERGRID_PASSWORD cleared, and restores it afterwards.
class WalletPassword : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv(kPasswordEnv)) saved_ = v;
    ::unsetenv(kPasswordEnv);
  }
  void TearDown() override {
    if (saved_) ::setenv(kPasswordEnv, saved_->c_str(), 1);
    else ::unsetenv(kPasswordEnv);
  }
  std::optional<std::string> saved_;
  ScratchDir dir_;
};

TEST_F(WalletPassword, FileGivesItsFirstLineWithoutTheLineEnding) {
  for (const auto& [content, expected] : std::vector<std::pair<std::string, std::string>>{
           {"hunter2\n", "hunter2"}, {"hunter2", "hunter2"}, {"hunter2\r\nsecond line\n", "hunter2"},
           {" spaced pass \n", " spaced pass "}}) {
    testing::write_text(dir_.file("pw"), content);
    auto pw = obtain_password(from_file(dir_.file("pw")));
    ASSERT_TRUE(pw) << pw.error().to_string();
    EXPECT_EQ(pw->view(), expected);
  }
}

TEST_F(WalletPassword, EmptyOrMissingFileIsAnError) {
  testing::write_text(dir_.file("empty"), "");
  testing::write_text(dir_.file("blank"), "\nsecond\n");
  for (const std::string& f : {dir_.file("empty"), dir_.file("blank"), dir_.file("missing")}) {
    auto pw = obtain_password(from_file(f));
    ASSERT_FALSE(pw) << f;
    EXPECT_EQ(pw.error().code, "password.file");
  }
}

TEST_F(WalletPassword, EnvironmentIsUsedWhenNoFileIsGiven) {
  ::setenv(kPasswordEnv, "from-env", 1);
  auto pw = obtain_password(PasswordRequest{});
  ASSERT_TRUE(pw);
  EXPECT_EQ(pw->view(), "from-env");
  // The file wins over the environment.
  testing::write_text(dir_.file("pw"), "from-file\n");
  auto f = obtain_password(from_file(dir_.file("pw")));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->view(), "from-file");
}

TEST_F(WalletPassword, NoFileNoEnvironmentNoTerminalIsAClearError) {
  ::setenv(kPasswordEnv, "", 1);  // empty counts as unset
  auto pw = obtain_password(from_tty(dir_.file("no-such-tty")));
  ASSERT_FALSE(pw);
  EXPECT_EQ(pw.error().code, "password.no_source");
  EXPECT_NE(pw.error().message.find("--password-file"), std::string::npos);
  EXPECT_NE(pw.error().message.find(kPasswordEnv), std::string::npos);
}

// A pseudo-terminal plays the user: it waits for each prompt, checks that echo is off, types.
class FakeUser {
 public:
  FakeUser() {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0) std::abort();
    slave_path_ = ::ptsname(master_);
    // Keep one slave descriptor open so the terminal does not hang up between prompts.
    slave_ = ::open(slave_path_.c_str(), O_RDWR | O_NOCTTY);
  }
  ~FakeUser() {
    if (thread_.joinable()) thread_.join();
    ::close(slave_);
    ::close(master_);
  }
  const std::string& path() const { return slave_path_; }

  void answer(std::vector<std::string> lines) {
    thread_ = std::thread([this, lines = std::move(lines)] {
      for (const auto& line : lines) {
        if (!wait_for(": ")) return;
        termios t{};
        ::tcgetattr(slave_, &t);
        echo_was_on_ = echo_was_on_ || (t.c_lflag & ECHO);
        std::string typed = line + "\n";
        if (::write(master_, typed.data(), typed.size()) < 0) return;
      }
    });
  }
  // Joins the typing thread and collects whatever the terminal printed afterwards.
  std::string finish() {
    if (thread_.joinable()) thread_.join();
    for (int i = 0; i < 10; ++i) read_some();
    return seen_;
  }
  bool echo_was_on() const { return echo_was_on_; }

 private:
  void read_some() {
    pollfd p{master_, POLLIN, 0};
    if (::poll(&p, 1, 10) > 0) {
      char buf[256];
      ssize_t n = ::read(master_, buf, sizeof buf);
      if (n > 0) seen_.append(buf, static_cast<size_t>(n));
    }
  }
  // Waits (up to 5 s) until the terminal has printed `suffix` after what was seen so far.
  bool wait_for(const std::string& suffix) {
    const size_t start = seen_.size();
    for (int i = 0; i < 500; ++i) {
      read_some();
      size_t at = seen_.rfind(suffix);
      if (at != std::string::npos && at >= start) return true;
    }
    return false;
  }
  int master_ = -1, slave_ = -1;
  std::string slave_path_;
  std::thread thread_;
  std::string seen_;
  bool echo_was_on_ = false;
};

TEST_F(WalletPassword, PromptReadsFromTheTerminalWithEchoOff) {
  FakeUser user;
  user.answer({"typed secret"});
  auto pw = obtain_password(from_tty(user.path(), "key alice"));
  ASSERT_TRUE(pw) << pw.error().to_string();
  EXPECT_EQ(pw->view(), "typed secret");
}

TEST_F(WalletPassword, ConfirmationAsksTwiceAndChecksBothMatch) {
  {
    FakeUser user;
    user.answer({"new secret", "new secret"});
    auto pw = obtain_password(from_tty(user.path(), "key bob", true));
    ASSERT_TRUE(pw) << pw.error().to_string();
    EXPECT_EQ(pw->view(), "new secret");
  }
  {
    FakeUser user;
    user.answer({"one", "two"});
    auto pw = obtain_password(from_tty(user.path(), "", true));
    ASSERT_FALSE(pw);
    EXPECT_EQ(pw.error().code, "password.mismatch");
  }
  {
    FakeUser user;
    user.answer({""});
    auto pw = obtain_password(from_tty(user.path(), "", true));
    ASSERT_FALSE(pw);
    EXPECT_EQ(pw.error().code, "password.empty");
  }
}

TEST_F(WalletPassword, PromptNamesThePurposeAndNeverEchoes) {
  FakeUser user;
  user.answer({"abc"});
  auto pw = obtain_password(from_tty(user.path(), "key carol"));
  ASSERT_TRUE(pw);
  const std::string shown = user.finish();
  EXPECT_NE(shown.find("Password for key carol: "), std::string::npos);
  EXPECT_EQ(shown.find("abc"), std::string::npos);
  EXPECT_FALSE(user.echo_was_on());
}

// Ctrl-C at the prompt must not leave the terminal with echo off.
TEST_F(WalletPassword, InterruptAtThePromptRestoresEcho) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const std::string slave_path = ::ptsname(master);
  int slave = ::open(slave_path.c_str(), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  termios before{};
  ASSERT_EQ(::tcgetattr(slave, &before), 0);
  ASSERT_TRUE(before.c_lflag & ECHO);

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto pw = obtain_password(from_tty(slave_path, "key x"));
    ::_exit(pw ? 0 : 3);  // not reached when the signal ends it
  }
  // Wait for the prompt, then check echo is off and interrupt.
  std::string seen;
  for (int i = 0; i < 500 && seen.find(": ") == std::string::npos; ++i) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 10) > 0) {
      char buf[128];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) seen.append(buf, static_cast<size_t>(n));
    }
  }
  ASSERT_NE(seen.find("Password for key x: "), std::string::npos);
  termios during{};
  ASSERT_EQ(::tcgetattr(slave, &during), 0);
  EXPECT_FALSE(during.c_lflag & ECHO);
  ::kill(child, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
  termios after{};
  ASSERT_EQ(::tcgetattr(slave, &after), 0);
  EXPECT_TRUE(after.c_lflag & ECHO);
  ::close(slave);
  ::close(master);
}

}  // namespace
}  // namespace ig::wallet
