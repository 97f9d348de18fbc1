#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>  // renameat2, RENAME_NOREPLACE
#include <cstring>
#include <atomic>
#include <filesystem>

namespace ig {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

// A name no other writer picks: 8 random bytes in hex (a counter when the CSPRNG fails).
std::string temp_name_for(const std::string& path) {
  std::array<uint8_t, 8> r{};
  if (RAND_bytes(r.data(), static_cast<int>(r.size())) != 1) {
    static std::atomic<uint64_t> counter{0};
    uint64_t c = ++counter ^ static_cast<uint64_t>(::getpid()) << 32;
    std::memcpy(r.data(), &c, r.size());
  }
  static const char* hex = "0123456789abcdef";
  std::string suffix;
  for (uint8_t b : r) {
    suffix += hex[b >> 4];
    suffix += hex[b & 15];
  }
  return path + ".tmp-" + suffix;
}

Status write_all(int fd, std::span<const uint8_t> content) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("file.write", "write failed: " + errno_text());
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

void sync_parent_dir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Status write_file_atomic(const std::string& path, std::span<const uint8_t> content, AtomicWrite how) {
  const bool overwrite = how.overwrite;
  std::error_code ec;
  if (!overwrite && fs::exists(path, ec)) return fail("file.exists", path + " already exists");
  const std::string tmp = temp_name_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail("file.create", "cannot create " + tmp + ": " + errno_text());
  // The umask may only have removed bits; fchmod makes the mode exactly 0600 either way.
  Status written = ::fchmod(fd, 0600) == 0 ? write_all(fd, content)
                                            : Status(fail("file.create", "cannot set mode of " + tmp + ": " + errno_text()));
  if (written && how.sync && ::fsync(fd) != 0) written = fail("file.write", "fsync of " + tmp + " failed: " + errno_text());
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return written;
  }
  // Without `overwrite` the file must appear only if nothing is there, decided by the kernel in
  // one step (the exists() check above is a fast path, not a guarantee): two writers racing for
  // one name get one winner and one "file.exists", with or without the wallet's lock.
  bool placed = false, claimed = false;
  if (!overwrite) {
    auto refuse = [&](int err) -> Status {
      ::unlink(tmp.c_str());
      if (err == EEXIST) return fail("file.exists", path + " already exists");
      return fail("file.rename", "cannot create " + path + ": " + std::strerror(err));
    };
    auto unsupported = [](int err) { return err == EPERM || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL; };
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      ::unlink(tmp.c_str());
      placed = true;
    } else if (!unsupported(errno)) {
      return refuse(errno);
    } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
      // No hard links on this filesystem; RENAME_NOREPLACE is just as atomic.
      placed = true;
    } else if (!unsupported(errno)) {
      return refuse(errno);
    } else {
      // Neither: claim the name with O_EXCL, then rename over our own empty claim. A reader may
      // see the empty file for a moment (and skip it as malformed), never a partial keystore.
      int claim = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (claim < 0) return refuse(errno);
      ::close(claim);
      claimed = true;
    }
  }
  if (!placed && ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    if (claimed) ::unlink(path.c_str());
    return fail("file.rename", "cannot replace " + path + ": " + why);
  }
  if (how.sync) sync_parent_dir(path);
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view content, AtomicWrite how) {
  return write_file_atomic(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()), how);
}


Expected<std::string> read_small_file(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("file.open", "cannot open " + path + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("file.not_regular", path + " is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return fail("file.too_large", path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  // Reserving up front avoids reallocations that would leave unwiped copies of a secret behind.
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size) + 1);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = errno_text();
      ::close(fd);
      return fail("file.read", "cannot read " + path + ": " + why);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return fail("file.too_large", path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

}  // namespace ig
