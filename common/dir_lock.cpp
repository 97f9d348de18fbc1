#include "common/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>

namespace ig {
namespace {

// "pid 1234 (infergridd)" from the lock file, or "" when it cannot be read.
std::string describe_holder(int fd) {
  char buf[256];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string_view text(buf, static_cast<size_t>(n));
  auto nl = text.find('\n');
  if (nl == std::string_view::npos) return "";
  std::string_view pid = text.substr(0, nl);
  std::string_view label = text.substr(nl + 1);
  if (auto end = label.find('\n'); end != std::string_view::npos) label = label.substr(0, end);
  if (pid.empty() || pid.size() > 10 || pid.find_first_not_of("0123456789") != std::string_view::npos) return "";
  std::string out = "pid " + std::string(pid);
  if (!label.empty()) out += " (" + std::string(label.substr(0, 64)) + ")";
  return out;
}

void write_holder(int fd, const std::string& label) {
  std::string text = std::to_string(::getpid()) + "\n" + label + "\n";
  if (::ftruncate(fd, 0) != 0) return;  // the lock itself is what matters; the text is a courtesy
  ssize_t ignored = ::pwrite(fd, text.data(), text.size(), 0);
  (void)ignored;
}

}  // namespace

std::string DirLock::lock_path(const std::string& dir) { return dir + "/LOCK"; }

Expected<DirLock> DirLock::acquire(const std::string& dir, const std::string& label) {
  return acquire_waiting(dir, label, std::chrono::milliseconds(0));
}

Expected<DirLock> DirLock::acquire_waiting(const std::string& dir, const std::string& label,
                                           std::chrono::milliseconds wait) {
  const std::string path = lock_path(dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail("lock.io", "cannot open " + path + ": " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) break;
    int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      return fail("lock.io", "cannot lock " + path + ": " + std::strerror(err));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string holder = describe_holder(fd);
      ::close(fd);
      return fail("lock.held", dir + " is in use by another process" +
                                   (holder.empty() ? std::string() : " (" + holder + ")") +
                                   "; stop it first (lock file " + path + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  write_holder(fd, label);
  return DirLock(fd);
}

DirLock::DirLock(DirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DirLock::~DirLock() { release(); }

void DirLock::release() {
  if (fd_ < 0) return;
  // Closing drops the flock. The file stays: removing it would race with a new holder that
  // has it open but not yet locked.
  ::close(fd_);
  fd_ = -1;
}

}  // namespace ig
