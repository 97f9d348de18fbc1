#include "chain/consensus/wal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ig::chain::bft {

namespace {

enum Kind : uint8_t { kKindProposal = 1, kKindVote = 2, kKindTimeout = 3, kKindOwnBlock = 4, kKindSignature = 5, kKindEndHeight = 6 };

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

std::string errno_text() { return std::strerror(errno); }

uint32_t read_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

uint32_t record_crc(ByteView length_le, ByteView payload) { return crc32c(payload, crc32c(length_le)); }

// crc | length | payload.
Bytes frame(const Bytes& payload) {
  Bytes out(8 + payload.size());
  const uint32_t len = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(len >> (8 * i));
  if (!payload.empty()) std::memcpy(out.data() + 8, payload.data(), payload.size());
  const uint32_t crc = record_crc(ByteView(out.data() + 4, 4), payload);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(crc >> (8 * i));
  return out;
}

Status pread_all(int fd, uint8_t* out, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail("wal.io", "read failed: " + errno_text());
    if (got == 0) return fail("wal.short", "file ends inside a record");
    done += static_cast<size_t>(got);
  }
  return {};
}

}  // namespace

uint32_t crc32c(ByteView data, uint32_t crc) {
  crc = ~crc;
  for (uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint64_t entry_height(const WalEntry& e) {
  return std::visit(
      [](const auto& x) -> uint64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, WalProposal>) return x.proposal.height;
        else if constexpr (std::is_same_v<T, WalVote>) return x.vote.height;
        else if constexpr (std::is_same_v<T, WalTimeout>) return x.timeout.height;
        else if constexpr (std::is_same_v<T, WalOwnBlock>) return x.block.header.height;
        else return x.height;
      },
      e);
}

Bytes encode_entry(const WalEntry& e) {
  Writer w;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, WalProposal>) {
          w.u8(kKindProposal);
          w.u64(x.proposal.height);
          w.boolean(x.valid);
          write_proposal(w, x.proposal);
        } else if constexpr (std::is_same_v<T, WalVote>) {
          w.u8(kKindVote);
          w.u64(x.vote.height);
          write_vote(w, x.vote);
        } else if constexpr (std::is_same_v<T, WalTimeout>) {
          w.u8(kKindTimeout);
          w.u64(x.timeout.height);
          w.u32(x.timeout.round);
          w.u8(static_cast<uint8_t>(x.timeout.step));
          w.u64(x.timeout.delay_ms);
        } else if constexpr (std::is_same_v<T, WalOwnBlock>) {
          w.u8(kKindOwnBlock);
          w.u64(x.block.header.height);
          w.bytes(encode_block(x.block));
        } else if constexpr (std::is_same_v<T, WalSignature>) {
          w.u8(kKindSignature);
          w.u64(x.height);
          w.u32(x.round);
          w.u8(static_cast<uint8_t>(x.step));
          w.fixed(x.sign_hash);
          w.fixed(x.signature);
        } else {
          w.u8(kKindEndHeight);
          w.u64(x.height);
        }
      },
      e);
  return std::move(w).take();
}

Expected<WalEntry> decode_entry(ByteView payload) {
  Reader r(payload);
  const uint8_t kind = r.u8();
  const uint64_t height = r.u64();
  WalEntry out = WalEndHeight{height};
  switch (kind) {
    case kKindProposal: {
      WalProposal p;
      p.valid = r.boolean();
      p.proposal = read_proposal(r);
      if (r.ok() && p.proposal.height != height) r.set_error("wal.bad_record", "proposal height differs from the record's");
      out = std::move(p);
      break;
    }
    case kKindVote: {
      WalVote v{read_vote(r)};
      if (r.ok() && v.vote.height != height) r.set_error("wal.bad_record", "vote height differs from the record's");
      out = v;
      break;
    }
    case kKindTimeout: {
      WalTimeout t;
      t.timeout.height = height;
      t.timeout.round = r.u32();
      const uint8_t step = r.u8();
      if (step > static_cast<uint8_t>(Step::kCommit)) r.set_error("wal.bad_record", "unknown timeout step");
      t.timeout.step = static_cast<Step>(step);
      t.timeout.delay_ms = r.u64();
      out = t;
      break;
    }
    case kKindOwnBlock: {
      Bytes b = r.bytes(kMaxBlockBytes);
      if (!r.ok()) break;
      auto block = decode_block(b);
      if (!block) r.set_error(block.error().code, "own block: " + block.error().message);
      else if (block->header.height != height) r.set_error("wal.bad_record", "own block height differs from the record's");
      else out = WalOwnBlock{std::move(*block)};
      break;
    }
    case kKindSignature: {
      WalSignature s;
      s.height = height;
      s.round = r.u32();
      const uint8_t step = r.u8();
      if (step < 1 || step > 3) r.set_error("wal.bad_record", "unknown signature step");
      s.step = static_cast<SignStep>(step);
      s.sign_hash = r.fixed<32>();
      s.signature = r.fixed<64>();
      out = s;
      break;
    }
    case kKindEndHeight: break;
    default: r.set_error("wal.bad_record", "unknown record kind " + std::to_string(kind));
  }
  IG_TRY(r.finish());
  return out;
}

template <typename Fn>
Expected<uint64_t> Wal::scan(Fn&& fn) const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return fail("wal.io", "cannot stat " + path_ + ": " + errno_text());
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t off = 0;
  Bytes payload;
  while (size - off >= 8) {
    uint8_t head[8];
    IG_TRY(pread_all(fd_, head, 8, off));
    const uint32_t crc = read_le32(head), len = read_le32(head + 4);
    if (len < 9 || len > kMaxWalRecordBytes || len > size - off - 8) break;
    payload.resize(len);
    IG_TRY(pread_all(fd_, payload.data(), len, off + 8));
    if (record_crc(ByteView(head + 4, 4), payload) != crc) break;
    auto entry = decode_entry(payload);
    if (!entry) break;
    fn(off, *entry);
    off += 8 + len;
  }
  return off;
}

Expected<std::unique_ptr<Wal>> Wal::open(const std::string& path, Options options) {
  std::unique_ptr<Wal> wal(new Wal(path, std::move(options)));
  IG_TRY(wal->reopen());
  IG_TRY_ASSIGN(good_end, wal->scan([](uint64_t, const WalEntry&) {}));
  struct stat st {};
  if (::fstat(wal->fd_, &st) != 0) return fail("wal.io", "cannot stat " + path + ": " + errno_text());
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (good_end < size) {
    if (::ftruncate(wal->fd_, static_cast<off_t>(good_end)) != 0)
      return fail("wal.io", "cannot truncate the torn tail of " + path + ": " + errno_text());
    if (wal->options_.fsync) ::fsync(wal->fd_);
    wal->truncated_ = size - good_end;
  }
  wal->file_size_ = wal->synced_size_ = good_end;
  return wal;
}

Wal::~Wal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Wal::reopen() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) return fail("wal.io", "cannot open " + path_ + ": " + errno_text());
  if (options_.fsync) sync_parent_dir(path_);  // a newly created file's name must survive a crash too
  return {};
}

Status Wal::append(const WalEntry& e) {
  if (dead_) return fail("wal.dead", "the WAL stopped after an interrupted write");
  Bytes payload = encode_entry(e);
  if (payload.size() > kMaxWalRecordBytes) return fail("wal.oversized", "record of " + std::to_string(payload.size()) + " bytes");
  chain::append(buffer_, frame(payload));
  return {};
}

Status Wal::write_buffer() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      // What was written stays; the rest stays buffered for the next attempt.
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(done));
      file_size_ += done;
      return fail("wal.io", "write to " + path_ + " failed: " + errno_text());
    }
    done += static_cast<size_t>(n);
  }
  file_size_ += done;
  buffer_.clear();
  return {};
}

Status Wal::sync() {
  if (dead_) return fail("wal.dead", "the WAL stopped after an interrupted write");
  IG_TRY(write_buffer());
  if (options_.fsync && ::fdatasync(fd_) != 0) return fail("wal.io", "fsync of " + path_ + " failed: " + errno_text());
  synced_size_ = file_size_;
  if (options_.hook && !options_.hook("wal.sync")) {
    dead_ = true;
    return fail("crash.injected", "simulated crash after a WAL sync");
  }
  return {};
}

Status Wal::end_height(uint64_t height) {
  IG_TRY(append(WalEndHeight{height}));
  IG_TRY(sync());
  if (file_size_ <= options_.compact_above_bytes) return {};
  // Keep records of later heights (there are none unless the caller appended ahead) and the marker.
  Bytes keep;
  IG_TRY(scan([&](uint64_t, const WalEntry& e) {
    if (entry_height(e) > height) chain::append(keep, frame(encode_entry(e)));
  }));
  Bytes fresh = frame(encode_entry(WalEndHeight{height}));
  chain::append(fresh, keep);
  IG_TRY(write_file_atomic(path_, fresh, options_.fsync));
  IG_TRY(reopen());
  file_size_ = synced_size_ = fresh.size();
  if (options_.hook && !options_.hook("wal.compact")) {
    dead_ = true;
    return fail("crash.injected", "simulated crash after WAL compaction");
  }
  return {};
}

Expected<std::vector<WalEntry>> Wal::read_height(uint64_t height) {
  if (!dead_) IG_TRY(write_buffer());
  std::vector<WalEntry> out;
  IG_TRY(scan([&](uint64_t, const WalEntry& e) {
    if (!std::holds_alternative<WalEndHeight>(e) && entry_height(e) == height) out.push_back(e);
  }));
  return out;
}

}  // namespace ig::chain::bft
