#include "chain/store.hpp"

#include <lmdb.h>

#include <filesystem>
#include <mutex>

#include <spdlog/spdlog.h>

#include "chain/codec.hpp"
#include "common/dir_lock.hpp"

namespace ig::chain {

namespace {

Error lmdb_error(std::string_view what, int rc) {
  return Error{"store.lmdb", std::string(what) + ": " + mdb_strerror(rc)};
}

MDB_val as_val(ByteView b) { return MDB_val{b.size(), const_cast<uint8_t*>(b.data())}; }
ByteView as_view(const MDB_val& v) { return ByteView(static_cast<const uint8_t*>(v.mv_data), v.mv_size); }
int put(MDB_txn* txn, MDB_dbi dbi, ByteView key, ByteView value, unsigned flags = 0) {
  MDB_val k = as_val(key), v = as_val(value);
  return mdb_put(txn, dbi, &k, &v, flags);
}

std::array<uint8_t, 8> height_key(uint64_t h) {
  std::array<uint8_t, 8> k{};
  for (int i = 0; i < 8; ++i) k[i] = static_cast<uint8_t>(h >> (56 - 8 * i));  // big-endian: sorted by height
  return k;
}

constexpr std::string_view kHeadKey = "head", kChainIdKey = "chain_id", kGenesisKey = "genesis_hash",
                           kGenesisRootKey = "genesis_state_root", kFormatKey = "store_format";

// The on-disk layout version (store.hpp). 2: receipts keyed by (height, index), not tx hash.
// Layout 1 is migrated at open (migrate_layout_1); any other is refused rather than misread.
constexpr uint8_t kStoreFormat = 2;
constexpr const char* kReceiptsTable = "receipts_by_location";
constexpr const char* kLayout1ReceiptsTable = "receipts";  // tx hash -> receipt
// Receipts moved per write transaction while migrating: bounds the transaction's dirty pages,
// and each batch commits whole, so a migration cut short resumes where it stopped.
constexpr size_t kMigrationBatch = 20'000;

// (height u64, index u32), big-endian: sorts by height, then by position in the block, so
// a block's receipts are appended after the previous block's.
std::array<uint8_t, 12> location_key(uint64_t height, uint32_t index) {
  std::array<uint8_t, 12> k{};
  for (int i = 0; i < 8; ++i) k[i] = static_cast<uint8_t>(height >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) k[8 + i] = static_cast<uint8_t>(index >> (24 - 8 * i));
  return k;
}

bool has_prefix(ByteView key, ByteView prefix) {
  return key.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), key.begin());
}

}  // namespace

struct Store::Impl {
  // LMDB lets several processes write one environment (they take turns), so two nodes on one
  // store would both commit blocks into it; this lock makes the second open fail instead.
  // Declared first so that it is released last, after the environment is closed.
  DirLock lock;
  MDB_env* env = nullptr;
  MDB_dbi blocks{}, commits{}, hashes{}, txs{}, receipts{}, state{}, meta{};
  size_t map_bytes = 0;
  bool durable = true;
  // Readers hold it shared for the life of their read transaction; growing the map takes it
  // exclusively, because LMDB forbids resizing while this process has a transaction open.
  mutable std::shared_mutex resize_mutex;
  std::unique_ptr<StateReader> latest;  // a LatestReader over this Impl

  ~Impl() {
    if (env) mdb_env_close(env);
  }

  // A read transaction plus the shared lock that keeps the map from being resized under it.
  struct ReadTxn {
    std::shared_lock<std::shared_mutex> lock;
    MDB_txn* txn = nullptr;
    explicit ReadTxn(const Impl& impl) : lock(impl.resize_mutex) {
      if (mdb_txn_begin(impl.env, nullptr, MDB_RDONLY, &txn) != MDB_SUCCESS) txn = nullptr;
    }
    ~ReadTxn() {
      if (txn) mdb_txn_abort(txn);
    }
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;
  };

  std::optional<Bytes> get(MDB_txn* txn, MDB_dbi dbi, ByteView key) const {
    MDB_val k = as_val(key), v;
    if (!txn || mdb_get(txn, dbi, &k, &v) != MDB_SUCCESS) return std::nullopt;
    ByteView b = as_view(v);
    return Bytes(b.begin(), b.end());
  }

  std::optional<Bytes> read(MDB_dbi dbi, ByteView key) const {
    ReadTxn rt(*this);
    return get(rt.txn, dbi, key);
  }

  void scan(MDB_txn* txn, ByteView prefix, const std::function<bool(ByteView, ByteView)>& fn) const {
    MDB_cursor* cur = nullptr;
    if (!txn || mdb_cursor_open(txn, state, &cur) != MDB_SUCCESS) return;
    MDB_val k = as_val(prefix), v;
    int rc = prefix.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && has_prefix(as_view(k), prefix)) {
      if (!fn(as_view(k), as_view(v))) break;
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
  }

  // Runs `body` in one write transaction, doubling the map and retrying when it is full.
  Status write(const std::function<int(MDB_txn*)>& body) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env, nullptr, 0, &txn);
      if (rc != MDB_SUCCESS) return fail(lmdb_error("begin write transaction", rc));
      rc = body(txn);
      if (rc == MDB_SUCCESS) rc = mdb_txn_commit(txn);
      else mdb_txn_abort(txn);
      if (rc == MDB_SUCCESS) return {};
      if (rc != MDB_MAP_FULL) return fail(lmdb_error("write transaction", rc));
      std::unique_lock lock(resize_mutex);
      size_t bigger = map_bytes * 2;
      rc = mdb_env_set_mapsize(env, bigger);
      if (rc != MDB_SUCCESS) return fail(lmdb_error("grow map", rc));
      map_bytes = bigger;
    }
    return fail("store.full", "block does not fit even after growing the map");
  }
};

class LatestReader : public StateReader {
 public:
  explicit LatestReader(const Store::Impl& impl) : impl_(impl) {}
  std::optional<Bytes> get(ByteView key) const override { return impl_.read(impl_.state, key); }
  void scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& fn) const override {
    Store::Impl::ReadTxn rt(impl_);
    impl_.scan(rt.txn, prefix, fn);
  }

 private:
  const Store::Impl& impl_;
};

class SnapshotReader : public StateReader {
 public:
  explicit SnapshotReader(const Store::Impl& impl) : impl_(impl), rt_(impl) {}
  std::optional<Bytes> get(ByteView key) const override { return impl_.get(rt_.txn, impl_.state, key); }
  void scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& fn) const override {
    impl_.scan(rt_.txn, prefix, fn);
  }

 private:
  const Store::Impl& impl_;
  Store::Impl::ReadTxn rt_;
};

// Layout 1 -> 2: each receipt moves from "receipts" (tx hash -> receipt) to
// "receipts_by_location" under its location, and the tx index entry is rewritten from the
// codec's little-endian (height u64, index u32) to the big-endian location key, in the same
// write transaction as the move. So whenever a layout-1 receipt is still there, its index
// entry is still layout 1, and a migration cut short (crash, kill) resumes at the next open.
// The last transaction drops the old table and records layout 2.
static Status migrate_layout_1(Store::Impl& impl) {
  size_t moved = 0;
  for (;;) {
    Status batch_status;
    bool finished = false;
    size_t batch_size = 0;  // set, not added to, inside: write() re-runs the body after growing the map
    const Status written = impl.write([&](MDB_txn* txn) {
      MDB_dbi old{};
      int rc = mdb_dbi_open(txn, kLayout1ReceiptsTable, 0, &old);
      if (rc == MDB_NOTFOUND) {  // nothing (left) to move
        finished = true;
        return put(txn, impl.meta, view(std::string(kFormatKey)), ByteView(&kStoreFormat, 1));
      }
      if (rc != MDB_SUCCESS) return rc;
      // Copy a batch out first: the values point into pages the writes below may move.
      std::vector<std::pair<Bytes, Bytes>> batch;
      MDB_cursor* cur = nullptr;
      rc = mdb_cursor_open(txn, old, &cur);
      if (rc != MDB_SUCCESS) return rc;
      MDB_val k, v;
      for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && batch.size() < kMigrationBatch;
           rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        batch.emplace_back(Bytes(as_view(k).begin(), as_view(k).end()), Bytes(as_view(v).begin(), as_view(v).end()));
      mdb_cursor_close(cur);
      if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return rc;
      if (batch.empty()) {
        finished = true;
        rc = mdb_drop(txn, old, 1);
        return rc == MDB_SUCCESS ? put(txn, impl.meta, view(std::string(kFormatKey)), ByteView(&kStoreFormat, 1)) : rc;
      }
      for (const auto& [hash, receipt] : batch) {
        const auto loc = impl.get(txn, impl.txs, hash);
        if (!loc || loc->size() != 12) {
          batch_status = fail("store.corrupt", "layout-1 receipt " + to_hex(hash) + " has no valid tx index entry");
          return MDB_INCOMPATIBLE;  // any failure code: the transaction is aborted
        }
        Reader r(*loc);
        const uint64_t height = r.u64();
        const uint32_t index = r.u32();
        const auto key = location_key(height, index);
        rc = put(txn, impl.txs, hash, key);
        if (rc == MDB_SUCCESS) rc = put(txn, impl.receipts, key, receipt);
        MDB_val hk = as_val(hash);
        if (rc == MDB_SUCCESS) rc = mdb_del(txn, old, &hk, nullptr);
        if (rc != MDB_SUCCESS) return rc;
      }
      batch_size = batch.size();
      return MDB_SUCCESS;
    });
    if (!batch_status) return batch_status;  // the store's own fault, named, not LMDB's code
    IG_TRY(written);
    if (finished) break;
    moved += batch_size;
    spdlog::info("store: moving receipts to layout {}: {} moved", kStoreFormat, moved);
  }
  spdlog::info("store: layout 1 brought up to layout {} ({} receipts moved)", kStoreFormat, moved);
  return {};
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Expected<std::unique_ptr<Store>> Store::open(const StoreConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.path, ec);
  if (ec) return fail("store.path", "cannot create " + config.path + ": " + ec.message());
  auto impl = std::make_unique<Impl>();
  IG_TRY_ASSIGN(lock, DirLock::acquire(config.path, "infergrid store"));
  impl->lock = std::move(lock);
  impl->durable = config.durable;
  int rc = mdb_env_create(&impl->env);
  if (rc != MDB_SUCCESS) return fail(lmdb_error("create environment", rc));
  mdb_env_set_maxdbs(impl->env, 16);
  mdb_env_set_maxreaders(impl->env, 512);
  mdb_env_set_mapsize(impl->env, config.initial_map_bytes);
  // NOTLS: read transactions are not tied to a thread (RPC hands work between threads).
  unsigned flags = MDB_NOTLS | (config.durable ? 0u : MDB_NOSYNC);
  rc = mdb_env_open(impl->env, config.path.c_str(), flags, 0600);
  if (rc != MDB_SUCCESS) return fail(lmdb_error("open " + config.path, rc));
  MDB_envinfo info;
  mdb_env_info(impl->env, &info);
  impl->map_bytes = info.me_mapsize;

  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(impl->env, nullptr, 0, &txn);
  if (rc != MDB_SUCCESS) return fail(lmdb_error("begin", rc));
  struct Named { const char* name; MDB_dbi* dbi; } dbs[] = {
      {"blocks", &impl->blocks}, {"commits", &impl->commits}, {"hashes", &impl->hashes}, {"txs", &impl->txs},
      {kReceiptsTable, &impl->receipts}, {"state", &impl->state}, {"meta", &impl->meta}};
  for (auto& d : dbs) {
    rc = mdb_dbi_open(txn, d.name, MDB_CREATE, d.dbi);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      return fail(lmdb_error(std::string("open database ") + d.name, rc));
    }
  }
  rc = mdb_txn_commit(txn);
  if (rc != MDB_SUCCESS) return fail(lmdb_error("commit database handles", rc));
  impl->latest = std::make_unique<LatestReader>(*impl);
  // An empty store takes this build's layout at genesis; one that holds a chain must have it,
  // or layout 1, which is brought up to date here.
  if (impl->read(impl->meta, view(std::string(kChainIdKey)))) {
    const auto format = impl->read(impl->meta, view(std::string(kFormatKey)));
    const unsigned found = format && format->size() == 1 ? (*format)[0] : 1;
    if (found == 1) IG_TRY(migrate_layout_1(*impl));
    else if (found != kStoreFormat)
      return fail("store.format", "the store in " + config.path + " has layout " + std::to_string(found) +
                                      " and this build reads layout " + std::to_string(kStoreFormat) +
                                      "; move its data.mdb aside (nothing else in that directory) and the "
                                      "node syncs the chain again from its peers");
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

static int apply_writes(MDB_txn* txn, MDB_dbi dbi, const WriteSet& writes) {
  for (const auto& [key, value] : writes) {
    int rc;
    if (value) {
      rc = put(txn, dbi, key, *value);
    } else {
      MDB_val k = as_val(key);
      rc = mdb_del(txn, dbi, &k, nullptr);
      if (rc == MDB_NOTFOUND) rc = MDB_SUCCESS;
    }
    if (rc != MDB_SUCCESS) return rc;
  }
  return MDB_SUCCESS;
}

static Bytes encode_head(const Head& h) {
  Writer w;
  w.u64(h.height);
  w.fixed(h.hash);
  w.fixed(h.state_root);
  return std::move(w).take();
}

Status Store::write_genesis(std::string_view chain_id, const Hash& genesis_hash, const WriteSet& writes,
                            const Hash& state_root) {
  if (this->chain_id()) return fail("store.not_empty", "store already holds a chain");
  return impl_->write([&](MDB_txn* txn) {
    int rc = apply_writes(txn, impl_->state, writes);
    if (rc == MDB_SUCCESS) rc = put(txn, impl_->meta, view(std::string(kChainIdKey)), view(std::string(chain_id)));
    if (rc == MDB_SUCCESS) rc = put(txn, impl_->meta, view(std::string(kGenesisKey)), genesis_hash);
    if (rc == MDB_SUCCESS) rc = put(txn, impl_->meta, view(std::string(kGenesisRootKey)), state_root);
    if (rc == MDB_SUCCESS) rc = put(txn, impl_->meta, view(std::string(kFormatKey)), ByteView(&kStoreFormat, 1));
    if (rc == MDB_SUCCESS) rc = put(txn, impl_->meta, view(std::string(kHeadKey)), encode_head(Head{0, genesis_hash, state_root}));
    return rc;
  });
}

Status Store::commit_block(const BlockCommit& bc) {
  const Block& b = *bc.block;
  auto current = head();
  uint64_t expected = current ? current->height + 1 : 1;
  if (b.header.height != expected)
    return fail("store.height", "block height " + std::to_string(b.header.height) + " does not follow the head (" +
                                    std::to_string(expected - 1) + ")");
  const Hash hash = block_hash(b.header);
  const Bytes block_bytes = encode_block(b);
  const Bytes commit_bytes = encode_commit(*bc.commit);
  const auto hkey = height_key(b.header.height);
  return impl_->write([&](MDB_txn* txn) {
    int rc = put(txn, impl_->blocks, hkey, block_bytes);
    if (rc == MDB_SUCCESS) rc = put(txn, impl_->commits, hkey, commit_bytes);
    if (rc == MDB_SUCCESS) rc = put(txn, impl_->hashes, hash, hkey);
    // Receipts go in by location, each key above every key before it: MDB_APPEND writes
    // them into the last leaf page instead of a random one per transaction (the tx index
    // below is the one table with random keys).
    for (size_t i = 0; rc == MDB_SUCCESS && i < bc.receipts->size(); ++i) {
      const Receipt& r = (*bc.receipts)[i];
      const auto loc = location_key(r.height, r.index);
      rc = put(txn, impl_->txs, r.tx_hash, loc);
      if (rc == MDB_SUCCESS) rc = put(txn, impl_->receipts, loc, encode_receipt(r), MDB_APPEND);
    }
    if (rc == MDB_SUCCESS) rc = apply_writes(txn, impl_->state, *bc.writes);
    if (rc == MDB_SUCCESS)
      rc = put(txn, impl_->meta, view(std::string(kHeadKey)), encode_head(Head{b.header.height, hash, b.header.state_root}));
    return rc;
  });
}

std::optional<Head> Store::head() const {
  auto raw = impl_->read(impl_->meta, view(std::string(kHeadKey)));
  if (!raw) return std::nullopt;
  Reader r(*raw);
  Head h;
  h.height = r.u64();
  h.hash = r.fixed<32>();
  h.state_root = r.fixed<32>();
  if (!r.finish()) return std::nullopt;
  return h;
}

std::optional<std::string> Store::chain_id() const {
  auto raw = impl_->read(impl_->meta, view(std::string(kChainIdKey)));
  if (!raw) return std::nullopt;
  return std::string(raw->begin(), raw->end());
}

static std::optional<Hash> as_hash(const std::optional<Bytes>& raw) {
  if (!raw || raw->size() != 32) return std::nullopt;
  Hash h{};
  std::copy(raw->begin(), raw->end(), h.begin());
  return h;
}

std::optional<Hash> Store::genesis_hash() const { return as_hash(impl_->read(impl_->meta, view(std::string(kGenesisKey)))); }
std::optional<Hash> Store::genesis_state_root() const {
  return as_hash(impl_->read(impl_->meta, view(std::string(kGenesisRootKey))));
}

Expected<std::optional<Block>> Store::block_at(uint64_t height) const {
  auto raw = impl_->read(impl_->blocks, height_key(height));
  if (!raw) return std::optional<Block>{};
  IG_TRY_ASSIGN(b, decode_block(*raw));
  return std::optional<Block>(std::move(b));
}

std::optional<uint64_t> Store::height_of(const Hash& hash) const {
  auto raw = impl_->read(impl_->hashes, hash);
  if (!raw || raw->size() != 8) return std::nullopt;
  uint64_t h = 0;
  for (uint8_t b : *raw) h = h << 8 | b;
  return h;
}

Expected<std::optional<Commit>> Store::commit_at(uint64_t height) const {
  auto raw = impl_->read(impl_->commits, height_key(height));
  if (!raw) return std::optional<Commit>{};
  IG_TRY_ASSIGN(c, decode_commit(*raw));
  return std::optional<Commit>(std::move(c));
}

std::optional<TxLocation> Store::tx_location(const Hash& tx_hash) const {
  auto raw = impl_->read(impl_->txs, tx_hash);
  if (!raw || raw->size() != 12) return std::nullopt;
  TxLocation loc;
  for (int i = 0; i < 8; ++i) loc.height = loc.height << 8 | (*raw)[i];
  for (int i = 8; i < 12; ++i) loc.index = loc.index << 8 | (*raw)[i];
  return loc;
}

Expected<std::optional<Receipt>> Store::receipt(const Hash& tx_hash) const {
  Impl::ReadTxn rt(*impl_);  // the index and the receipt from one snapshot
  const auto loc = impl_->get(rt.txn, impl_->txs, tx_hash);
  if (!loc) return std::optional<Receipt>{};
  if (loc->size() != 12) return fail("store.corrupt", "tx index entry of " + std::to_string(loc->size()) + " bytes");
  auto raw = impl_->get(rt.txn, impl_->receipts, *loc);
  if (!raw) return fail("store.corrupt", "the tx index names a receipt that is not stored");
  IG_TRY_ASSIGN(rc, decode_receipt(*raw));
  return std::optional<Receipt>(std::move(rc));
}

std::unique_ptr<StateReader> Store::snapshot() const { return std::make_unique<SnapshotReader>(*impl_); }

const StateReader& Store::latest() const { return *impl_->latest; }

size_t Store::map_bytes() const { return impl_->map_bytes; }

}  // namespace ig::chain
