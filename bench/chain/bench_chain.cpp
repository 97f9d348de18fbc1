// bench_chain: signed transfers applied per second, and where the time goes.
//
// A proposer ledger builds a chain of blocks (1,000 and 10,000 transfers each, from many
// accounts) out of pre-signed transactions. Fresh follower ledgers then apply the same
// blocks as a validating node does: Ledger::validate (checks every signature, re-executes,
// compares roots) then Ledger::commit (one LMDB write transaction), once with durable=true
// (fsync per block) and once with durable=false. Separate figures isolate signature
// verification and execution so the totals can be explained.
//
// Output: one JSON object per line. Everything runs on one thread.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chain/hash.hpp"
#include "chain/ledger.hpp"
#include "contracts/app.hpp"

namespace {

using namespace ig::chain;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr const char* kChainId = "ig-bench";
constexpr uint64_t kStartTimeMs = 1'800'000'000'000;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU time of this thread: on a shared machine the wall clock also counts other processes'
// turns, so every figure is given both ways ("per_cpu_second" excludes fsync waits too).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

struct Stopwatch {
  Clock::time_point wall0 = Clock::now();
  double cpu0 = thread_cpu_seconds();
  double wall() const { return seconds_since(wall0); }
  double cpu() const { return thread_cpu_seconds() - cpu0; }
};

void emit(const json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_chain: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(ig::Expected<T> e, const char* what) {
  if (!e) die(std::string(what) + ": " + e.error().to_string());
  return std::move(*e);
}

void must(const ig::Status& s, const char* what) {
  if (!s) die(std::string(what) + ": " + s.error().to_string());
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/ig-bench-chain-XXXXXX";
    if (!mkdtemp(tmpl.data())) die("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

SecretKey key_from_seed(const std::string& seed) { return must(SecretKey::from_bytes(sha256(view(seed))), "key"); }

// A node: its own LMDB store, Application and Ledger.
struct Node {
  Node(const std::string& path, const Genesis& g, bool durable) {
    store = must(Store::open(StoreConfig{path, 1u << 30, durable}), "open store");
    ledger = std::make_unique<Ledger>(*store, app, MempoolConfig{200'000, 512u << 20, 10'000});
    must(ledger->init(g), "init ledger");
  }
  std::unique_ptr<Store> store;
  ig::contracts::InfergridApp app;
  std::unique_ptr<Ledger> ledger;
};

struct Setup {
  SecretKey validator = key_from_seed("bench-validator");
  std::vector<SecretKey> accounts;
  Genesis genesis;
};

Setup make_setup(size_t n_accounts) {
  Setup s;
  s.accounts.reserve(n_accounts);
  for (size_t i = 0; i < n_accounts; ++i) s.accounts.push_back(key_from_seed("bench-account-" + std::to_string(i)));
  s.genesis.chain_id = kChainId;
  s.genesis.genesis_time_ms = kStartTimeMs;
  s.genesis.params.max_block_txs = 10'000;
  s.genesis.params.max_block_bytes = 16u << 20;
  s.genesis.validators.push_back(
      Validator{s.validator.public_key(), key_from_seed("bench-validator-account").public_key(), 100, "bench"});
  for (const auto& k : s.accounts) s.genesis.accounts.push_back(GenesisAccount{k.public_key(), 1'000'000'000'000});
  return s;
}

// One transfer from each of the first `n` accounts to a pseudo-random other account.
std::vector<Transaction> sign_transfers(const Setup& s, size_t n, std::vector<uint64_t>& nonces, uint64_t salt) {
  std::vector<Transaction> txs;
  txs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    size_t to = (i * 7919 + salt * 104729 + 1) % s.accounts.size();
    if (to == i) to = (to + 1) % s.accounts.size();
    TxBody body{kChainId, s.accounts[i].public_key(), nonces[i]++, 2000, 0,
                Transfer{s.accounts[to].public_key(), 1000 + (i % 97), ""}};
    txs.push_back(sign_tx(std::move(body), s.accounts[i]));
  }
  return txs;
}

struct Produced {
  Block block;
  Commit commit;
};

// The proposer: admits pre-signed transactions to its mempool, proposes, commits.
std::vector<Produced> produce_chain(Node& proposer, const Setup& s, const std::vector<size_t>& sizes) {
  std::vector<uint64_t> nonces(s.accounts.size(), 0);
  std::vector<Produced> out;
  uint64_t time_ms = kStartTimeMs;
  for (size_t b = 0; b < sizes.size(); ++b) {
    std::vector<Transaction> txs = sign_transfers(s, sizes[b], nonces, b);
    Stopwatch admit;
    for (const auto& tx : txs) must(proposer.ledger->submit(tx), "submit");
    double admit_wall = admit.wall(), admit_cpu = admit.cpu();
    Stopwatch propose;
    Proposal p = must(proposer.ledger->propose(time_ms += 1000, s.validator.public_key()), "propose");
    double propose_wall = propose.wall(), propose_cpu = propose.cpu();
    if (p.block.txs.size() != sizes[b]) die("proposal dropped transactions");
    const Hash h = block_hash(p.block.header);
    Commit c{p.block.header.height, 0, h, {sign_precommit(s.validator, kChainId, p.block.header.height, 0, h)}};
    must(proposer.ledger->commit(p, c), "commit on proposer");
    if (b + 1 == sizes.size() || sizes[b + 1] != sizes[b]) {  // one line per size, from its last block
      emit({{"bench", "chain_mempool_admit"}, {"txs", sizes[b]}, {"txs_per_second", sizes[b] / admit_wall},
            {"txs_per_cpu_second", sizes[b] / admit_cpu}});
      emit({{"bench", "chain_propose_block"}, {"txs_per_block", sizes[b]}, {"txs_per_second", sizes[b] / propose_wall},
            {"txs_per_cpu_second", sizes[b] / propose_cpu}});
    }
    out.push_back(Produced{std::move(p.block), c});
  }
  return out;
}

struct Timing {
  size_t txs = 0, blocks = 0;
  double execute_wall = 0, execute_cpu = 0;
  double validate_wall = 0, validate_cpu = 0;
  double commit_wall = 0, commit_cpu = 0;
  double worst_block_wall = 0;
};

// Execution alone (no signature checks): the state transitions, receipts and state root.
void time_execution(Node& follower, const Block& block, Timing& t) {
  Head head = follower.ledger->head();
  BlockInfo info{kChainId, block.header.height, block.header.time_ms, block.header.prev_hash, block.header.proposer};
  auto snap = follower.store->snapshot();
  Stopwatch sw;
  auto r = must(execute_block(follower.app, *snap, head.state_root, info, block.txs, ExecMode::kValidate,
                              /*check_signatures=*/false),
                "execute");
  t.execute_wall += sw.wall();
  t.execute_cpu += sw.cpu();
  if (r.state_root != block.header.state_root) die("execution gave another state root");
}

// A follower applies every block as a validating node does; totals per block size.
std::map<size_t, Timing> follow_chain(Node& follower, const std::vector<Produced>& chain) {
  std::map<size_t, Timing> by_size;
  for (const auto& pb : chain) {
    Timing& t = by_size[pb.block.txs.size()];
    time_execution(follower, pb.block, t);
    Stopwatch validate;
    Proposal v = must(follower.ledger->validate(pb.block), "validate");
    double validate_wall = validate.wall(), validate_cpu = validate.cpu();
    Stopwatch commit;
    must(follower.ledger->commit(v, pb.commit), "commit");
    double commit_wall = commit.wall(), commit_cpu = commit.cpu();
    t.validate_wall += validate_wall;
    t.validate_cpu += validate_cpu;
    t.commit_wall += commit_wall;
    t.commit_cpu += commit_cpu;
    t.worst_block_wall = std::max(t.worst_block_wall, validate_wall + commit_wall);
    t.txs += pb.block.txs.size();
    t.blocks++;
  }
  return by_size;
}

void report_follow(const std::map<size_t, Timing>& by_size, bool durable) {
  for (const auto& [size, t] : by_size) {
    emit({{"bench", "chain_apply_block"},
          {"txs_per_block", size},
          {"blocks", t.blocks},
          {"durable", durable},
          {"txs_per_second", t.txs / (t.validate_wall + t.commit_wall)},
          {"txs_per_cpu_second", t.txs / (t.validate_cpu + t.commit_cpu)},
          {"validate_ms_per_block", t.validate_wall * 1e3 / t.blocks},
          {"commit_ms_per_block", t.commit_wall * 1e3 / t.blocks},
          {"commit_cpu_ms_per_block", t.commit_cpu * 1e3 / t.blocks},
          {"worst_block_ms", t.worst_block_wall * 1e3}});
    emit({{"bench", "chain_execute"},
          {"txs_per_block", size},
          {"durable", durable},
          {"txs_per_second", t.txs / t.execute_wall},
          {"txs_per_cpu_second", t.txs / t.execute_cpu},
          {"cpu_us_per_tx", t.execute_cpu * 1e6 / t.txs}});
  }
}

// Signature verification alone: the full per-transaction check (signing hash + BIP-340
// verify), and the bare libsecp256k1 verify of a precomputed 32-byte message.
void bench_signatures(const std::vector<Produced>& chain) {
  std::vector<const Transaction*> txs;
  for (const auto& pb : chain)
    for (const auto& tx : pb.block.txs) txs.push_back(&tx);
  std::vector<Hash> hashes;
  hashes.reserve(txs.size());
  for (const auto* tx : txs) hashes.push_back(tx_signing_hash(tx->body));

  Stopwatch full;
  size_t ok = 0;
  for (const auto* tx : txs) ok += verify_tx_signature(*tx);
  double full_wall = full.wall(), full_cpu = full.cpu();
  Stopwatch raw;
  size_t raw_ok = 0;
  for (size_t i = 0; i < txs.size(); ++i) raw_ok += verify_signature(txs[i]->body.sender, hashes[i], txs[i]->signature);
  double raw_wall = raw.wall(), raw_cpu = raw.cpu();
  if (ok != txs.size() || raw_ok != txs.size()) die("a signature failed to verify");
  const double n = static_cast<double>(txs.size());
  emit({{"bench", "chain_sig_verify"}, {"txs", txs.size()}, {"txs_per_second", n / full_wall},
        {"txs_per_cpu_second", n / full_cpu}, {"cpu_us_per_tx", full_cpu * 1e6 / n}});
  emit({{"bench", "chain_sig_verify_raw"}, {"sigs", txs.size()}, {"sigs_per_second", n / raw_wall},
        {"sigs_per_cpu_second", n / raw_cpu}, {"cpu_us_per_sig", raw_cpu * 1e6 / n}});
}

}  // namespace

int main(int argc, char** argv) {
  // bench_chain [blocks_of_1000] [blocks_of_10000]
  size_t small_blocks = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5;
  size_t big_blocks = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 3;
  std::vector<size_t> sizes(small_blocks, 1000);
  sizes.insert(sizes.end(), big_blocks, 10000);

  auto t0 = Clock::now();
  Setup setup = make_setup(10'000);
  TempDir dir;
  Node proposer(dir.sub("proposer"), setup.genesis, /*durable=*/false);
  std::vector<Produced> chain = produce_chain(proposer, setup, sizes);
  emit({{"bench", "chain_setup"}, {"accounts", setup.accounts.size()}, {"blocks", chain.size()},
        {"seconds", seconds_since(t0)}});

  bench_signatures(chain);
  for (bool durable : {true, false}) {
    Node follower(dir.sub(durable ? "durable" : "nosync"), setup.genesis, durable);
    report_follow(follow_chain(follower, chain), durable);
    if (follower.ledger->head().hash != proposer.ledger->head().hash) die("follower ended on another head");
  }
  return 0;
}
