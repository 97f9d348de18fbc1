#include "p2p/node_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include <openssl/evp.h>
#include <openssl/pem.h>

namespace ig::p2p {

struct NodeKey::Impl {
  EVP_PKEY* pkey = nullptr;
  ~Impl() { EVP_PKEY_free(pkey); }
};

namespace {

constexpr size_t kMaxKeyFileBytes = 16 * 1024;  // an Ed25519 PEM is ~120 bytes

ig::Expected<NodeId> id_of(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) return ig::fail("p2p.bad_key", "the node key is not an Ed25519 key");
  NodeId id;
  size_t len = id.bytes.size();
  if (EVP_PKEY_get_raw_public_key(pkey, id.bytes.data(), &len) != 1 || len != id.bytes.size())
    return ig::fail("p2p.bad_key", "cannot read the Ed25519 public key");
  return id;
}

std::string errno_text() { return std::strerror(errno); }

ig::Expected<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ig::fail("p2p.key_io", "cannot open node key " + path + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string why = errno_text();
    ::close(fd);
    return ig::fail("p2p.key_io", "cannot stat node key " + path + ": " + why);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return ig::fail("p2p.key_io", "node key " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return ig::fail("p2p.key_io", "node key " + path + " has mode " + mode +
                                      ": others may read it; run chmod 600 on it");
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileBytes)) {
    ::close(fd);
    return ig::fail("p2p.bad_key", "node key " + path + " is too large to be a key");
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(got);
  return data;
}

ig::Status write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ig::fail("p2p.key_io", "cannot write " + path + ": " + errno_text());
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

evp_pkey_st* NodeKey::native() const { return impl_->pkey; }

ig::Expected<NodeKey> NodeKey::generate() {
  auto impl = std::make_shared<Impl>();
  impl->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!impl->pkey) return ig::fail("p2p.bad_key", "cannot generate an Ed25519 key");
  IG_TRY_ASSIGN(id, id_of(impl->pkey));
  return NodeKey(std::move(impl), id);
}

ig::Expected<NodeKey> NodeKey::from_seed(const std::array<uint8_t, 32>& seed) {
  auto impl = std::make_shared<Impl>();
  impl->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (!impl->pkey) return ig::fail("p2p.bad_key", "cannot make an Ed25519 key from the seed");
  IG_TRY_ASSIGN(id, id_of(impl->pkey));
  return NodeKey(std::move(impl), id);
}

ig::Expected<NodeKey> NodeKey::load(const std::string& path) {
  IG_TRY_ASSIGN(pem, read_small_file(path));
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return ig::fail("p2p.bad_key", "out of memory reading " + path);
  auto impl = std::make_shared<Impl>();
  // A null password callback with an empty passphrase: an encrypted key fails instead of
  // prompting on the terminal of a daemon.
  impl->pkey = PEM_read_bio_PrivateKey(bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  BIO_free(bio);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!impl->pkey) return ig::fail("p2p.bad_key", path + " does not hold a PEM private key");
  auto id = id_of(impl->pkey);
  if (!id) return ig::fail("p2p.bad_key", path + ": " + id.error().message);
  return NodeKey(std::move(impl), *id);
}

ig::Expected<NodeKey> NodeKey::load_or_create(const std::string& path) {
  std::error_code ec;
  auto st = std::filesystem::symlink_status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return ig::fail("p2p.key_io", "cannot check node key " + path + ": " + ec.message());
  if (std::filesystem::exists(st)) return load(path);
  IG_TRY_ASSIGN(key, generate());
  IG_TRY(key.save(path));
  return key;
}

std::string NodeKey::to_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return {};
  std::string out;
  if (PEM_write_bio_PrivateKey(bio, impl_->pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

ig::Status NodeKey::save(const std::string& path) const {
  namespace fs = std::filesystem;
  std::string pem = to_pem();
  if (pem.empty()) return ig::fail("p2p.bad_key", "cannot encode the node key");
  fs::path target(path);
  fs::path dir = target.parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return ig::fail("p2p.key_io", "cannot create " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  // A random suffix so that two processes saving at once cannot write the same temporary file.
  std::random_device rd;
  std::string tmp = path + ".tmp" + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ig::fail("p2p.key_io", "cannot create " + tmp + ": " + errno_text());
  auto st = write_all(fd, pem, tmp);
  OPENSSL_cleanse(pem.data(), pem.size());
  // fchmod as well as the open mode: the umask can only remove bits, but say what we mean.
  if (st && ::fchmod(fd, 0600) != 0) st = ig::fail("p2p.key_io", "cannot chmod " + tmp + ": " + errno_text());
  if (st && ::fsync(fd) != 0) st = ig::fail("p2p.key_io", "cannot fsync " + tmp + ": " + errno_text());
  ::close(fd);
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = ig::fail("p2p.key_io", "cannot rename " + tmp + " to " + path + ": " + errno_text());
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  // Make the rename itself durable.
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace ig::p2p
