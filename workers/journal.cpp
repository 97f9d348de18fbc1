#include "workers/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ig::workers {

Expected<Journal> Journal::open(const std::string& path) {
  Journal j;
  j.path_ = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return j;  // a new worker
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return fail("journal.corrupt", path + " is not a JSON object; move it away only if you know no result is pending");
  j.data_ = std::move(doc);
  return j;
}

Status Journal::save() const {
  const std::string text = data_.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("journal.io", "cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return fail("journal.io", "write to " + tmp + " failed: " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return fail("journal.io", "cannot sync " + tmp);
  if (::rename(tmp.c_str(), path_.c_str()) != 0)
    return fail("journal.io", "cannot replace " + path_ + ": " + std::strerror(errno));
  return {};
}

}  // namespace ig::workers
