#include "wallet/secure_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>


namespace ig::wallet {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

Status ensure_private_dir(const std::string& dir) {
  if (dir.empty()) return fail("file.bad_path", "empty directory path");
  fs::path p(dir);
  std::error_code ec;
  if (fs::is_directory(p, ec)) return {};
  if (fs::exists(p, ec)) return fail("file.not_a_directory", dir + " exists and is not a directory");
  if (p.has_parent_path() && p.parent_path() != p) IG_TRY(ensure_private_dir(p.parent_path().string()));
  if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
    return fail("file.mkdir", "cannot create directory " + dir + ": " + errno_text());
  return {};
}

}  // namespace ig::wallet
