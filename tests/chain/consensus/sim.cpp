#include "tests/chain/consensus/sim.hpp"

#include <filesystem>
#include <set>
#include <stdexcept>

#include "chain/hash.hpp"

namespace ig::chain::bft::sim {

namespace {

SecretKey sim_key(size_t i) {
  const std::string seed = "sim-validator-" + std::to_string(i);
  auto k = SecretKey::from_bytes(sha256(view(seed)));
  if (!k) throw std::runtime_error("bad simulated key");
  return *k;
}

uint64_t height_of(const Message& m) {
  return std::visit([](const auto& x) { return x.height; }, m);
}

// Logs every signature the node's real signer hands out.
class RecordingSigner final : public Signer {
 public:
  RecordingSigner(Signer* inner, std::vector<SignRecord>* log) : inner_(inner), log_(log) {}
  PublicKey public_key() const override { return inner_->public_key(); }
  Expected<Signature> sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash) override {
    auto sig = inner_->sign(height, round, step, sign_hash);
    if (sig) log_->push_back(SignRecord{height, round, step, sign_hash, *sig});
    return sig;
  }

 private:
  Signer* inner_;
  std::vector<SignRecord>* log_;
};

}  // namespace

TimeoutConfig fast_timeouts() {
  TimeoutConfig t;
  t.propose_ms = 100;
  t.propose_delta_ms = 50;
  t.prevote_ms = 50;
  t.prevote_delta_ms = 25;
  t.precommit_ms = 50;
  t.precommit_delta_ms = 25;
  t.commit_ms = 10;
  return t;
}

struct Simulation::Node {
  explicit Node(SecretKey k) : key(std::move(k)) {}
  SecretKey key;
  std::unique_ptr<MemorySigner> mem_signer;  // memory mode: its state outlives crashes, as a file would
  std::unique_ptr<FileSigner> file_signer;
  std::unique_ptr<RecordingSigner> recorder;
  std::vector<SignRecord> signatures;
  std::unique_ptr<Wal> wal;
  std::unique_ptr<Replica> replica;
  bool alive = false;
  bool dying = false;  // a hook asked for a crash inside the current call
  uint64_t life = 0;
  std::map<uint64_t, Decision> decided;  // the node's ledger: survives crashes
  std::vector<Evidence> evidence;
  std::vector<Message> sent;
};

Simulation::Simulation(Options options) : options_(std::move(options)) {
  for (size_t i = 0; i < options_.powers.size(); ++i) {
    auto node = std::make_unique<Node>(sim_key(i));
    Validator v;
    v.consensus_key = node->key.public_key();
    v.account = v.consensus_key;
    v.power = options_.powers[i];
    v.name = "v" + std::to_string(i);
    validators_.push_back(v);
    nodes_.push_back(std::move(node));
  }
}

Simulation::~Simulation() = default;

const SecretKey& Simulation::key(size_t i) const { return nodes_.at(i)->key; }
bool Simulation::alive(size_t i) const { return nodes_.at(i)->alive; }
const Replica& Simulation::replica(size_t i) const { return *nodes_.at(i)->replica; }
const std::map<uint64_t, Decision>& Simulation::decisions(size_t i) const { return nodes_.at(i)->decided; }
const std::vector<Evidence>& Simulation::evidence(size_t i) const { return nodes_.at(i)->evidence; }
const std::vector<Message>& Simulation::sent(size_t i) const { return nodes_.at(i)->sent; }
const std::vector<SignRecord>& Simulation::signatures(size_t i) const { return nodes_.at(i)->signatures; }
std::string Simulation::wal_path(size_t i) const { return options_.dir + "/node" + std::to_string(i) + "/wal"; }
std::string Simulation::signer_path(size_t i) const {
  return options_.dir + "/node" + std::to_string(i) + "/signer_state.json";
}

void Simulation::start() {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (auto st = open_node(i); !st) throw std::runtime_error("node " + std::to_string(i) + ": " + st.error().to_string());
}

Status Simulation::open_node(size_t i) {
  Node& n = *nodes_[i];
  n.replica.reset();
  n.wal.reset();
  n.file_signer.reset();
  CoreConfig cfg;
  cfg.timeouts = options_.timeouts;
  cfg.max_block_bytes = options_.max_block_bytes;
  Signer* signer = nullptr;
  Wal* wal = nullptr;
  if (options_.dir.empty()) {
    if (!n.mem_signer) n.mem_signer = std::make_unique<MemorySigner>(n.key);
    signer = n.mem_signer.get();
  } else {
    std::filesystem::create_directories(options_.dir + "/node" + std::to_string(i));
    DurabilityHook hook = [this, i](std::string_view point) {
      if (!hook_ || hook_(i, point)) return true;
      nodes_[i]->dying = true;
      return false;
    };
    FileSigner::Options so;
    so.fsync = options_.fsync;
    so.hook = hook;
    IG_TRY_ASSIGN(fs, FileSigner::open(signer_path(i), n.key, so));
    Wal::Options wo;
    wo.fsync = options_.fsync;
    wo.hook = hook;
    IG_TRY_ASSIGN(w, Wal::open(wal_path(i), wo));
    n.file_signer = std::move(fs);
    n.wal = std::move(w);
    signer = n.file_signer.get();
    wal = n.wal.get();
  }
  n.recorder = std::make_unique<RecordingSigner>(signer, &n.signatures);
  n.replica = std::make_unique<Replica>(options_.chain_id, n.recorder.get(), wal, cfg);
  n.alive = true;
  n.dying = false;
  ++n.life;
  if (options_.gossip_interval_ms) {
    Event tick;
    tick.time = now_ + options_.gossip_interval_ms;
    tick.kind = Event::kGossip;
    tick.node = i;
    tick.life = n.life;
    push(std::move(tick));
  }
  const uint64_t next = n.decided.empty() ? 1 : n.decided.rbegin()->first + 1;
  handle(i, n.replica->start_height(next, validators_));
  return {};
}

void Simulation::crash(size_t i) {
  Node& n = *nodes_[i];
  if (!n.alive) return;
  n.alive = false;
  n.dying = false;
  ++n.life;  // timeouts of this life are void
  ++crashes_;
  n.replica.reset();
  n.wal.reset();  // unsynced records are lost, as in a crash
  n.recorder.reset();
  n.file_signer.reset();
}

Status Simulation::restart(size_t i) {
  crash(i);
  return open_node(i);
}

void Simulation::push(Event e) {
  e.seq = seq_++;
  queue_.push(std::move(e));
}

bool Simulation::connected(size_t a, size_t b) const {
  if (group_.empty()) return true;
  return group_[a] >= 0 && group_[a] == group_[b];
}

void Simulation::partition(std::vector<std::vector<size_t>> groups) {
  group_.assign(nodes_.size(), -1);
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t i : groups[g]) group_.at(i) = static_cast<int>(g);
}

void Simulation::heal() { group_.clear(); }

void Simulation::broadcast(size_t from, const Message& m) {
  for (size_t to = 0; to < nodes_.size(); ++to) {
    if (to == from || !connected(from, to)) continue;
    if (filter_ && !filter_(from, to, m)) continue;
    Event e;
    e.time = now_ + (latency_ ? latency_(from, to) : options_.latency_ms);
    e.kind = Event::kDeliver;
    e.node = to;
    e.msg = m;
    push(std::move(e));
  }
}

void Simulation::inject(size_t to, const Message& m, uint64_t delay_ms) {
  Event e;
  e.time = now_ + delay_ms;
  e.kind = Event::kDeliver;
  e.node = to;
  e.msg = m;
  push(std::move(e));
}

Block Simulation::default_block(size_t node, uint64_t height) const {
  const Node& n = *nodes_.at(node);
  Block b;
  b.header.chain_id = options_.chain_id;
  b.header.height = height;
  b.header.time_ms = now_;
  if (auto it = n.decided.find(height - 1); it != n.decided.end()) {
    b.header.prev_hash = block_hash(it->second.block.header);
    b.last_commit = it->second.commit;
    b.header.last_commit_hash = commit_hash(it->second.commit);
  }
  b.header.tx_root = tx_root(b.txs);
  b.header.proposer = n.key.public_key();
  b.header.validators_hash = validators_hash(validators_);
  return b;
}

void Simulation::handle(size_t i, Output out) {
  Node& n = *nodes_[i];
  if (n.dying) {
    // The process died inside this call: nothing it produced leaves it.
    crash(i);
    Event e;
    e.time = now_ + options_.restart_delay_ms;
    e.kind = Event::kRestart;
    e.node = i;
    push(std::move(e));
    return;
  }
  if (!n.alive) return;
  for (auto& e : out.evidence) n.evidence.push_back(e);
  if (out.decision) n.decided.try_emplace(out.decision->commit.height, *out.decision);
  for (auto& p : out.proposals) {
    n.sent.emplace_back(p);
    broadcast(i, p);
  }
  for (auto& v : out.votes) {
    n.sent.emplace_back(v);
    broadcast(i, v);
  }
  for (const auto& t : out.timeouts) {
    Event e;
    e.time = now_ + t.delay_ms;
    e.kind = Event::kTimeout;
    e.node = i;
    e.life = n.life;
    e.timeout = t;
    push(std::move(e));
  }
  if (out.need_block) {
    Block b = builder_ ? builder_(i, out.need_block->height, out.need_block->round) : default_block(i, out.need_block->height);
    handle(i, n.replica->on_own_block(std::move(b)));
  }
}

void Simulation::relay(size_t i) {
  const Tendermint& c = nodes_[i]->replica->core();
  for (const auto& p : c.known_proposals()) broadcast(i, p);
  for (const auto& v : c.known_votes()) broadcast(i, v);
  // The previous height's votes too, as CometBFT gossips its last commit to peers one behind
  // (and so that a double-sign straddling the height change is still seen by someone).
  if (const HeightVoteSet* last = c.last_votes())
    for (uint32_t r : last->rounds())
      for (uint8_t type : {kPrevote, kPrecommit})
        if (const VoteSet* vs = last->get(r, type))
          for (const auto& v : vs->all()) broadcast(i, v);
}

void Simulation::catch_up(size_t i) {
  Node& n = *nodes_[i];
  while (n.alive) {
    const Tendermint& c = n.replica->core();
    const uint64_t h = c.height();
    if (c.decision()) return;  // decided; the commit wait moves it on
    const Decision* found = nullptr;
    for (const auto& other : nodes_)
      if (auto it = other->decided.find(h); it != other->decided.end()) found = &it->second;
    if (!found || !verify_commit(found->commit, options_.chain_id, validators_)) return;
    n.decided.try_emplace(h, *found);
    handle(i, n.replica->start_height(h + 1, validators_));
  }
}

void Simulation::deliver(size_t to, const Message& m) {
  Node& n = *nodes_[to];
  if (!n.alive) return;
  const Tendermint& c = n.replica->core();
  Output out;
  if (const auto* p = std::get_if<Proposal>(&m)) {
    // The driver's order: cheap checks first, then the (expensive) validity of the block.
    bool valid = false;
    if (p->height == c.height() && c.check_proposal(*p)) {
      if (validity_) {
        valid = validity_(to, p->block);
      } else {
        auto prev = n.decided.find(p->height - 1);
        const Hash want = prev == n.decided.end() ? Hash{} : block_hash(prev->second.block.header);
        valid = p->block.header.prev_hash == want && p->block.header.validators_hash == validators_hash(validators_);
      }
    }
    out = n.replica->on_proposal(*p, valid);
  } else {
    out = n.replica->on_vote(std::get<Vote>(m));
  }
  handle(to, std::move(out));
  if (options_.catch_up && n.alive && height_of(m) > n.replica->core().height()) catch_up(to);
}

void Simulation::step(const Event& e) {
  Node& n = *nodes_[e.node];
  switch (e.kind) {
    case Event::kDeliver:
      deliver(e.node, e.msg);
      break;
    case Event::kRestart:
      if (!n.alive) {
        if (auto st = open_node(e.node); !st) throw std::runtime_error("restart: " + st.error().to_string());
      }
      break;
    case Event::kTimeout: {
      if (!n.alive || e.life != n.life) return;
      const Tendermint& c = n.replica->core();
      if (e.timeout.step == Step::kCommit) {
        if (c.height() == e.timeout.height && c.decision())
          handle(e.node, n.replica->start_height(e.timeout.height + 1, validators_));
        return;
      }
      handle(e.node, n.replica->on_timeout(e.timeout));
      break;
    }
    case Event::kGossip: {
      if (!n.alive || e.life != n.life) return;
      relay(e.node);
      Event next = e;
      next.time = now_ + options_.gossip_interval_ms;
      push(std::move(next));
      break;
    }
  }
}

bool Simulation::run_until(const std::function<bool()>& done, uint64_t max_time_ms) {
  while (!done()) {
    if (queue_.empty() || queue_.top().time > max_time_ms) return done();
    Event e = queue_.top();
    queue_.pop();
    now_ = e.time;
    step(e);
  }
  return true;
}

bool Simulation::run_until_height(uint64_t height, uint64_t max_time_ms) {
  return run_until(
      [&] {
        for (const auto& n : nodes_)
          if (n->alive && !n->decided.count(height)) return false;
        return true;
      },
      max_time_ms);
}

void Simulation::run_for(uint64_t ms) {
  const uint64_t until = now_ + ms;
  run_until([] { return false; }, until);
  now_ = std::max(now_, until);
}

std::vector<Violation> Simulation::check_safety() const {
  std::vector<Violation> out;
  std::map<uint64_t, Hash> agreed;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (const auto& [h, d] : nodes_[i]->decided) {
      const Hash hash = block_hash(d.block.header);
      auto [it, fresh] = agreed.emplace(h, hash);
      if (!fresh && it->second != hash) out.push_back({"height " + std::to_string(h) + ": two different blocks decided"});
      if (d.commit.block_hash != hash) out.push_back({"height " + std::to_string(h) + ": commit is for another block"});
      if (auto st = verify_commit(d.commit, options_.chain_id, validators_); !st)
        out.push_back({"height " + std::to_string(h) + ": " + st.error().to_string()});
    }
    std::map<std::tuple<uint64_t, uint32_t, int>, Hash> by_signer;
    for (const auto& r : nodes_[i]->signatures) {
      auto [it, fresh] = by_signer.emplace(std::tuple<uint64_t, uint32_t, int>{r.height, r.round, static_cast<int>(r.step)}, r.sign_hash);
      if (!fresh && it->second != r.sign_hash)
        out.push_back({"node " + std::to_string(i) + "'s signer signed two different messages at height " +
                       std::to_string(r.height) + " round " + std::to_string(r.round)});
    }
    std::map<std::tuple<uint64_t, uint32_t, int>, Hash> signed_at;
    for (const auto& m : nodes_[i]->sent) {
      std::tuple<uint64_t, uint32_t, int> key;
      Hash sh;
      if (const auto* p = std::get_if<Proposal>(&m)) {
        key = {p->height, p->round, 0};
        sh = proposal_signing_hash(options_.chain_id, *p);
      } else {
        const auto& v = std::get<Vote>(m);
        key = {v.height, v.round, v.type};
        sh = vote_signing_hash(options_.chain_id, v);
      }
      auto [it, fresh] = signed_at.emplace(key, sh);
      if (!fresh && it->second != sh)
        out.push_back({"node " + std::to_string(i) + " signed two different messages at height " +
                       std::to_string(std::get<0>(key)) + " round " + std::to_string(std::get<1>(key)) + " step " +
                       std::to_string(std::get<2>(key))});
    }
  }
  return out;
}

}  // namespace ig::chain::bft::sim
