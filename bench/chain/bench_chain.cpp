// bench_chain: signed transfers applied per second, how that scales with the signature
// verification threads, and where the time goes.
//
// A proposer ledger builds a chain of blocks (1,000 and 10,000 transfers each, from many
// accounts) out of pre-signed transactions. Fresh follower ledgers then apply the same blocks
// as a validating node does: Ledger::validate (signatures checked on the ledger's VerifyPool
// while execution applies the block in order, roots compared) then Ledger::commit (one LMDB
// write transaction). Each thread count gets its own follower, and the runs are interleaved
// (1, 2, 1, 2, ...) so a machine whose load changes affects every thread count alike; the
// summary gives medians. Separate figures isolate signature verification, the cheap digests,
// execution alone and batch mempool admission.
//
//   bench_chain [--small N] [--big N] [--threads 1,2] [--repeats R] [--durable]
//   bench_chain N_SMALL N_BIG            (the old positional form)
//
// Output: one JSON object per line; the last one, "chain_apply_scaling", compares the median
// transfers/s of each thread count with one thread's.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>
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

// CPU time of the whole process (every verification thread): on a shared machine the wall
// clock also counts other processes' turns, so figures are given both ways ("per_cpu_second"
// excludes fsync waits too, and shows what the extra threads cost).
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

struct Stopwatch {
  Clock::time_point wall0 = Clock::now();
  double cpu0 = process_cpu_seconds();
  double wall() const { return seconds_since(wall0); }
  double cpu() const { return process_cpu_seconds() - cpu0; }
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

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/ig-bench-chain-XXXXXX";  // mkdtemp's template: it fills in the Xs
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

// A node: its own LMDB store, Application and Ledger (with `threads` verification threads).
struct Node {
  Node(const std::string& path, const Genesis& g, bool durable, unsigned threads) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    store = must(Store::open(StoreConfig{path, 1u << 30, durable}), "open store");
    ledger = std::make_unique<Ledger>(*store, app, MempoolConfig{200'000, 512u << 20, 10'000}, threads);
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

// The proposer: admits pre-signed transactions to its mempool one by one (as RPC does),
// proposes, commits.
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
      const unsigned t = proposer.ledger->verify_pool().threads();
      emit({{"bench", "chain_mempool_admit"}, {"threads", 1}, {"txs", sizes[b]},
            {"txs_per_second", sizes[b] / admit_wall}, {"txs_per_cpu_second", sizes[b] / admit_cpu}});
      emit({{"bench", "chain_propose_block"}, {"threads", t}, {"txs_per_block", sizes[b]},
            {"txs_per_second", sizes[b] / propose_wall}, {"txs_per_cpu_second", sizes[b] / propose_cpu}});
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

// Execution alone (no signature checks, one thread): the state transitions, receipts and
// state root, which stay sequential whatever the thread count.
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
std::map<size_t, Timing> follow_chain(Node& follower, const std::vector<Produced>& chain, bool with_execution) {
  std::map<size_t, Timing> by_size;
  for (const auto& pb : chain) {
    Timing& t = by_size[pb.block.txs.size()];
    if (with_execution) time_execution(follower, pb.block, t);
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

double applied_per_second(const Timing& t) { return t.txs / (t.validate_wall + t.commit_wall); }

void report_follow(const std::map<size_t, Timing>& by_size, bool durable, unsigned threads, size_t run,
                   bool with_execution) {
  for (const auto& [size, t] : by_size) {
    emit({{"bench", "chain_apply_block"},
          {"threads", threads},
          {"run", run},
          {"txs_per_block", size},
          {"blocks", t.blocks},
          {"durable", durable},
          {"txs_per_second", applied_per_second(t)},
          {"txs_per_cpu_second", t.txs / (t.validate_cpu + t.commit_cpu)},
          {"validate_ms_per_block", t.validate_wall * 1e3 / t.blocks},
          {"commit_ms_per_block", t.commit_wall * 1e3 / t.blocks},
          {"commit_cpu_ms_per_block", t.commit_cpu * 1e3 / t.blocks},
          {"worst_block_ms", t.worst_block_wall * 1e3}});
    if (with_execution)
      emit({{"bench", "chain_execute"},
            {"threads", 1},
            {"txs_per_block", size},
            {"durable", durable},
            {"txs_per_second", t.txs / t.execute_wall},
            {"txs_per_cpu_second", t.txs / t.execute_cpu},
            {"cpu_us_per_tx", t.execute_cpu * 1e6 / t.txs}});
  }
}

std::vector<const Transaction*> all_txs(const std::vector<Produced>& chain) {
  std::vector<const Transaction*> txs;
  for (const auto& pb : chain)
    for (const auto& tx : pb.block.txs) txs.push_back(&tx);
  return txs;
}

// Signature verification alone on `threads` threads: the full per-transaction check (signing
// hash + BIP-340 verify), and (one thread) the bare libsecp256k1 verify of a 32-byte message.
void bench_signatures(const std::vector<Produced>& chain, unsigned threads) {
  const auto txs = all_txs(chain);
  const double n = static_cast<double>(txs.size());
  VerifyPool pool(threads);
  std::vector<uint8_t> ok(txs.size(), 0);
  Stopwatch full;
  pool.parallel_for(txs.size(), [&](size_t i) { ok[i] = verify_tx_signature(*txs[i]); });
  double full_wall = full.wall(), full_cpu = full.cpu();
  if (std::count(ok.begin(), ok.end(), 1) != static_cast<long>(txs.size())) die("a signature failed to verify");
  emit({{"bench", "chain_sig_verify"}, {"threads", threads}, {"txs", txs.size()}, {"txs_per_second", n / full_wall},
        {"txs_per_cpu_second", n / full_cpu}, {"cpu_us_per_tx", full_cpu * 1e6 / n}});
  if (threads != 1) return;
  std::vector<Hash> hashes;
  hashes.reserve(txs.size());
  for (const auto* tx : txs) hashes.push_back(tx_signing_hash(tx->body));
  Stopwatch raw;
  size_t raw_ok = 0;
  for (size_t i = 0; i < txs.size(); ++i) raw_ok += verify_signature(txs[i]->body.sender, hashes[i], txs[i]->signature);
  double raw_wall = raw.wall(), raw_cpu = raw.cpu();
  if (raw_ok != txs.size()) die("a signature failed to verify");
  emit({{"bench", "chain_sig_verify_raw"}, {"threads", 1}, {"sigs", txs.size()}, {"sigs_per_second", n / raw_wall},
        {"sigs_per_cpu_second", n / raw_cpu}, {"cpu_us_per_sig", raw_cpu * 1e6 / n}});
}

// The cheap per-transaction work of validation on `threads` threads: tx_digests (encode each
// transaction, hash it and its Merkle leaf) over every block, as Ledger::validate runs it.
// Items of a few hundred nanoseconds show what the pool and the hashing library cost when
// threads share them (OpenSSL contexts, common/sha256.cpp).
void bench_tx_digests(const std::vector<Produced>& chain, unsigned threads) {
  VerifyPool pool(threads);
  constexpr int kRounds = 10;
  size_t n = 0;
  std::vector<Hash> leaves;
  Stopwatch sw;
  for (int r = 0; r < kRounds; ++r)
    for (const auto& pb : chain) n += tx_digests(pool, pb.block.txs, &leaves).size();
  const double wall = sw.wall(), cpu = sw.cpu();
  emit({{"bench", "chain_tx_digests"}, {"threads", threads}, {"txs", n}, {"txs_per_second", n / wall},
        {"txs_per_cpu_second", n / cpu}, {"ns_per_tx", wall * 1e9 / n}});
}

// Batch admission (Ledger::submit_batch: signatures checked on the pool, admission in order)
// of every transaction of the chain, block by block, into a fresh node's mempool.
double bench_admit_batch(const TempDir& dir, const Setup& s, const std::vector<Produced>& chain, unsigned threads) {
  Node node(dir.sub("admit"), s.genesis, /*durable=*/false, threads);
  size_t n = 0;
  Stopwatch sw;
  for (const auto& pb : chain) {
    for (const auto& r : node.ledger->submit_batch(pb.block.txs)) must(r, "submit_batch");
    n += pb.block.txs.size();
  }
  const double wall = sw.wall(), cpu = sw.cpu();
  emit({{"bench", "chain_mempool_admit_batch"}, {"threads", threads}, {"txs", n}, {"txs_per_second", n / wall},
        {"txs_per_cpu_second", n / cpu}});
  return n / wall;
}

std::vector<unsigned> parse_threads(const std::string& list) {
  std::vector<unsigned> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    const unsigned long v = std::strtoul(list.substr(pos, comma - pos).c_str(), nullptr, 10);
    if (v == 0 || v > 256) die("--threads takes a list of thread counts such as 1,2");
    out.push_back(static_cast<unsigned>(v));
    pos = comma + 1;
  }
  return out;
}

struct Options {
  size_t small_blocks = 5, big_blocks = 3, repeats = 5;
  std::vector<unsigned> threads{1, 2};
  bool durable = false;
};

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--small") o.small_blocks = std::strtoul(value().c_str(), nullptr, 10);
    else if (a == "--big") o.big_blocks = std::strtoul(value().c_str(), nullptr, 10);
    else if (a == "--repeats") o.repeats = std::max<size_t>(1, std::strtoul(value().c_str(), nullptr, 10));
    else if (a == "--threads") o.threads = parse_threads(value());
    else if (a == "--durable") o.durable = true;
    else if (a == "-h" || a == "--help") {
      std::printf("bench_chain [--small N] [--big N] [--threads 1,2] [--repeats R] [--durable]\n"
                  "  --small N, --big N   blocks of 1,000 and of 10,000 transfers (default 5 and 3)\n"
                  "  --threads LIST       verification thread counts to compare (default 1,2)\n"
                  "  --repeats R          interleaved runs per thread count; the summary gives medians (default 5)\n"
                  "  --durable            also apply with fsync on every commit\n"
                  "Prints one JSON object per line; the last, chain_apply_scaling, has ratio_to_first.\n");
      std::exit(0);
    }
    else if (!a.empty() && a[0] != '-') positional.push_back(a);
    else die("unknown option " + a + " (bench_chain [--small N] [--big N] [--threads 1,2] [--repeats R] [--durable])");
  }
  if (positional.size() > 0) o.small_blocks = std::strtoul(positional[0].c_str(), nullptr, 10);
  if (positional.size() > 1) o.big_blocks = std::strtoul(positional[1].c_str(), nullptr, 10);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  std::vector<size_t> sizes(opt.small_blocks, 1000);
  sizes.insert(sizes.end(), opt.big_blocks, 10000);
  if (sizes.empty()) die("no blocks to apply");

  auto t0 = Clock::now();
  Setup setup = make_setup(10'000);
  TempDir dir;
  Node proposer(dir.sub("proposer"), setup.genesis, /*durable=*/false, 0);
  std::vector<Produced> chain = produce_chain(proposer, setup, sizes);
  emit({{"bench", "chain_setup"}, {"accounts", setup.accounts.size()}, {"blocks", chain.size()},
        {"seconds", seconds_since(t0)}});

  for (unsigned t : opt.threads) bench_signatures(chain, t);
  for (unsigned t : opt.threads) bench_tx_digests(chain, t);
  for (unsigned t : opt.threads) bench_admit_batch(dir, setup, chain, t);

  // Interleaved runs: repeat r applies the chain once per thread count, each on a fresh
  // follower. Applied transfers/s per (durable, threads, block size) across repeats.
  std::map<std::tuple<bool, unsigned, size_t>, std::vector<double>> rates;
  std::vector<bool> modes{false};
  if (opt.durable) modes.push_back(true);
  for (size_t r = 0; r < opt.repeats; ++r)
    for (bool durable : modes)
      for (unsigned t : opt.threads) {
        Node follower(dir.sub("follower"), setup.genesis, durable, t);
        const bool with_execution = r == 0 && t == opt.threads.front();
        const auto by_size = follow_chain(follower, chain, with_execution);
        report_follow(by_size, durable, t, r, with_execution);
        if (follower.ledger->head().hash != proposer.ledger->head().hash) die("follower ended on another head");
        for (const auto& [size, timing] : by_size) rates[{durable, t, size}].push_back(applied_per_second(timing));
      }

  for (bool durable : modes)
    for (size_t size : {size_t{1000}, size_t{10000}}) {
      if (!rates.count({durable, opt.threads.front(), size})) continue;
      json per_threads = json::object();
      const double base = median(rates[{durable, opt.threads.front(), size}]);
      for (unsigned t : opt.threads) {
        const auto& v = rates[{durable, t, size}];
        const double med = median(v);
        per_threads[std::to_string(t)] = {{"txs_per_second_median", med},
                                          {"txs_per_second_min", *std::min_element(v.begin(), v.end())},
                                          {"txs_per_second_max", *std::max_element(v.begin(), v.end())},
                                          {"ratio_to_first", med / base}};
      }
      emit({{"bench", "chain_apply_scaling"}, {"txs_per_block", size}, {"durable", durable},
            {"repeats", opt.repeats}, {"hardware_threads", std::thread::hardware_concurrency()},
            {"threads", per_threads}});
    }
  return 0;
}
