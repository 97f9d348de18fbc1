#include "chain/consensus/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ig::chain::bft {

namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

void sync_parent_dir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

Status write_file_atomic(const std::string& path, ByteView content, bool sync) {
  // One writer per file (the node's home lock guarantees it), so a fixed temporary name is safe
  // and a stale one from a crash is simply overwritten.
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail("file.create", "cannot create " + tmp + ": " + errno_text());
  Status st;
  if (::fchmod(fd, 0600) != 0) st = fail("file.create", "cannot set the mode of " + tmp + ": " + errno_text());
  size_t done = 0;
  while (st && done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) st = fail("file.write", "write to " + tmp + " failed: " + errno_text());
    else done += static_cast<size_t>(n);
  }
  if (st && sync && ::fsync(fd) != 0) st = fail("file.write", "fsync of " + tmp + " failed: " + errno_text());
  ::close(fd);
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = fail("file.rename", "cannot replace " + path + ": " + errno_text());
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (sync) sync_parent_dir(path);
  return {};
}

Expected<Bytes> read_file(const std::string& path, size_t max_bytes) {
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
  Bytes out(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

}  // namespace ig::chain::bft
