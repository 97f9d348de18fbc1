#include "node/chain_metrics.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "chain/address.hpp"
#include "contracts/epoch.hpp"
#include "contracts/kv.hpp"

namespace ig::node {
namespace {

using json = nlohmann::json;
namespace kv = contracts::kv;

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string attr(const chain::Event& e, std::string_view key) {
  for (const auto& a : e.attributes)
    if (a.key == key) return a.value;
  return "";
}

uint64_t to_u64(const std::string& s) {
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) return v;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Open tasks by status, counted through the task contract's queues (contracts/tasks.hpp:
// 'p' pending, 'd' assigned by deadline, 'w' submitted by window end), so a scrape costs the
// number of open tasks, never the whole history.
std::map<std::string, uint64_t> open_tasks(const chain::StateReader& reader) {
  chain::State s(reader);
  std::map<std::string, uint64_t> out;
  for (auto [table, status] : {std::pair{'p', "pending"}, {'d', "assigned"}, {'w', "submitted"}}) {
    uint64_t n = 0;
    s.scan(kv::key(chain::StatePrefix::kTasks, table), [&](chain::ByteView, chain::ByteView) {
      ++n;
      return true;
    });
    out[status] = n;
  }
  return out;
}

}  // namespace

ChainMetrics::ChainMetrics(chain::Ledger& ledger)
    : ledger_(ledger),
      interval_({0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60}),
      latency_({0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10}),
      rounds_({0, 1, 2, 3, 5, 10}),
      block_txs_({0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000}) {}

void ChainMetrics::backfill() {
  const uint64_t head = ledger_.head().height;
  const uint64_t from = head > kHistoryBlocks ? head - kHistoryBlocks + 1 : 1;
  {
    std::lock_guard l(mu_);
    for (uint64_t h = from; h <= head; ++h) {
      auto b = ledger_.store().block_at(h);
      if (!b || !*b) continue;
      BlockPoint p;
      p.height = h;
      p.time_ms = (*b)->header.time_ms;
      p.txs = static_cast<uint32_t>((*b)->txs.size());
      blocks_.push_back(p);
      last_time_ms_ = p.time_ms;
    }
  }
  // The last epoch is in state: the epoch charts start with it.
  if (head > 0) record_epoch(head);
}

void ChainMetrics::count_event(const chain::Event& e, BlockPoint& p) {
  ++event_counts_[e.type];
  if (e.type == "task_submitted") ++p.submitted;
  else if (e.type == "task_settled") ++p.settled;
  else if (e.type == "task_rejected") ++p.rejected;
  else if (e.type == "verdict") {
    ++p.verdicts;
    ++verdicts_[attr(e, "accept") == "true" ? "true" : "false"];
  } else if (e.type == "slash") {
    const std::string role = attr(e, "role") == "validator" ? "validator" : "miner";
    ++slashes_[role];
    slashed_[role] += to_u64(attr(e, "amount"));
  } else if (e.type == "epoch") {
    ++epochs_total_;
    emission_total_ += to_u64(attr(e, "emission"));
  }
}

void ChainMetrics::on_block(const chain::CommittedBlock& cb) {
  const auto& h = cb.block.header;
  const uint64_t now = wall_ms();
  std::optional<chain::bft::BftStatus> status;
  {
    std::lock_guard l(consensus_mu_);
    if (consensus_) status = consensus_();
  }
  bool epoch = false;
  {
    std::lock_guard l(mu_);
    BlockPoint p;
    p.height = h.height;
    p.time_ms = h.time_ms;
    p.txs = static_cast<uint32_t>(cb.block.txs.size());
    ++committed_;
    txs_ += cb.block.txs.size();
    for (const auto& r : cb.receipts) {
      if (r.code != chain::TxCode::kOk) ++failed_txs_;
      for (const auto& e : r.events) count_event(e, p);
    }
    for (const auto& e : cb.block_events) {
      count_event(e, p);
      if (e.type == "epoch") epoch = true;
    }
    if (last_time_ms_ && h.time_ms >= last_time_ms_) interval_.observe(double(h.time_ms - last_time_ms_) / 1000.0);
    last_time_ms_ = h.time_ms;
    // The proposer's clock stamps the block; another node's clock may run a little behind it.
    latency_.observe(now > h.time_ms ? double(now - h.time_ms) / 1000.0 : 0.0);
    if (status) rounds_.observe(status->round);
    block_txs_.observe(static_cast<double>(cb.block.txs.size()));
    blocks_.push_back(p);
    while (blocks_.size() > kHistoryBlocks) blocks_.pop_front();
  }
  if (epoch) record_epoch(h.height);
}

void ChainMetrics::record_epoch(uint64_t height) {
  chain::State s(ledger_.store().latest());
  std::optional<contracts::epoch::EpochRecord> rec;
  try {
    rec = contracts::epoch::last_epoch(s);
  } catch (const std::exception& e) {
    spdlog::warn("metrics: cannot read the epoch at height {}: {}", height, e.what());
    return;
  }
  if (!rec) return;
  json accounts = json::array();
  for (const auto& u : rec->uids)
    accounts.push_back({{"account", chain::address_to_string(u.account)},
                        {"uid", u.uid},
                        {"incentive", u.incentive},
                        {"dividends", u.dividends},
                        {"emission", std::to_string(u.emission)},
                        {"validator_permit", u.permit}});
  json e = {{"epoch", rec->epoch}, {"height", rec->height}, {"emission", std::to_string(rec->emission)}, {"accounts", accounts}};
  std::lock_guard l(mu_);
  if (!epochs_.empty() && epochs_.back().value("epoch", uint64_t{0}) == rec->epoch) return;
  epochs_.push_back(std::move(e));
  while (epochs_.size() > kHistoryEpochs) epochs_.pop_front();
}

void ChainMetrics::set_consensus(std::function<chain::bft::BftStatus()> status) {
  std::lock_guard l(consensus_mu_);
  consensus_ = std::move(status);
}

void ChainMetrics::add_source(std::function<void(rpc::MetricsText&)> source) {
  std::lock_guard l(consensus_mu_);
  sources_.push_back(std::move(source));
}

void ChainMetrics::clear_sources() {
  std::lock_guard l(consensus_mu_);
  sources_.clear();
}

json ChainMetrics::history(size_t max_blocks) const {
  std::lock_guard l(mu_);
  json blocks = json::array();
  const size_t skip = blocks_.size() > max_blocks ? blocks_.size() - max_blocks : 0;
  for (size_t i = skip; i < blocks_.size(); ++i) {
    const auto& p = blocks_[i];
    blocks.push_back({{"height", p.height}, {"time_ms", p.time_ms}, {"txs", p.txs}, {"tasks_submitted", p.submitted},
                      {"tasks_settled", p.settled}, {"tasks_rejected", p.rejected}, {"verdicts", p.verdicts}});
  }
  json epochs = json::array();
  for (const auto& e : epochs_) epochs.push_back(e);
  return json{{"blocks", blocks}, {"epochs", epochs}};
}

std::string ChainMetrics::render(const rpc::Server& rpc) const {
  rpc::MetricsText m;
  const chain::Head head = ledger_.head();
  m.single("infergrid_chain_height", "gauge", "Height of the last committed block.", static_cast<double>(head.height));
  std::optional<chain::bft::BftStatus> status;
  {
    std::lock_guard l(consensus_mu_);
    if (consensus_) status = consensus_();
  }
  if (status) {
    m.single("infergrid_consensus_height", "gauge", "The height consensus is deciding.", static_cast<double>(status->height));
    m.single("infergrid_consensus_round", "gauge", "The round of that height (0 = the first proposal).", status->round);
    m.single("infergrid_consensus_syncing", "gauge", "1 while the node catches up by block sync.", status->syncing ? 1 : 0);
    m.single("infergrid_consensus_best_peer_height", "gauge", "The highest head a peer announced.",
             static_cast<double>(status->best_peer_height));
    m.family("infergrid_consensus_blocks_total", "counter", "Blocks committed since start, by how (consensus or block sync).");
    m.sample("infergrid_consensus_blocks_total", static_cast<double>(status->decided_blocks), {{"via", "consensus"}});
    m.sample("infergrid_consensus_blocks_total", static_cast<double>(status->synced_blocks), {{"via", "sync"}});
    m.single("infergrid_consensus_dropped_messages_total", "counter",
             "Peers' consensus and block-sync messages dropped because the engine's inbox was full (it was far behind).",
             static_cast<double>(status->dropped_messages));
  }
  m.single("infergrid_mempool_transactions", "gauge", "Transactions waiting in the mempool.",
           static_cast<double>(ledger_.mempool().size()));
  {
    std::lock_guard l(mu_);
    m.single("infergrid_blocks_committed_total", "counter", "Blocks this node committed since it started.",
             static_cast<double>(committed_));
    m.single("infergrid_transactions_total", "counter", "Transactions in the blocks committed since start.",
             static_cast<double>(txs_));
    m.single("infergrid_transactions_failed_total", "counter",
             "Transactions included with a failure status (fee paid, effects reverted).", static_cast<double>(failed_txs_));
    m.histogram("infergrid_block_interval_seconds", "Time between consecutive blocks (their proposers' timestamps).",
                interval_.snapshot());
    m.histogram("infergrid_block_commit_latency_seconds",
                "From a block's proposal (its timestamp) to its commit on this node.", latency_.snapshot());
    m.histogram("infergrid_consensus_commit_round", "The consensus round at which each block was decided.",
                rounds_.snapshot());
    m.histogram("infergrid_block_transactions", "Transactions per committed block.", block_txs_.snapshot());
    m.family("infergrid_events_total", "counter", "Events of committed blocks since start, by type (docs/rpc.md, Events).");
    for (const auto& [type, n] : event_counts_) m.sample("infergrid_events_total", static_cast<double>(n), {{"type", type}});
    m.family("infergrid_verdicts_total", "counter", "Verdict transactions since start, by outcome.");
    for (const char* a : {"true", "false"}) {
      auto it = verdicts_.find(a);
      m.sample("infergrid_verdicts_total", it == verdicts_.end() ? 0.0 : static_cast<double>(it->second), {{"accept", a}});
    }
    auto by_role = [&](const char* name, const char* help, const std::map<std::string, uint64_t>& values) {
      m.family(name, "counter", help);
      for (const char* role : {"miner", "validator"}) {
        auto it = values.find(role);
        m.sample(name, it == values.end() ? 0.0 : static_cast<double>(it->second), {{"role", role}});
      }
    };
    by_role("infergrid_slashes_total", "Slashes since start, by role.", slashes_);
    by_role("infergrid_slashed_amount_total", "Stake burned by slashes since start, base units, by role.", slashed_);
    m.single("infergrid_epochs_total", "counter", "Yuma epochs run since start.", static_cast<double>(epochs_total_));
    m.single("infergrid_emission_total", "counter", "Tokens minted by Yuma epochs since start, base units.",
             static_cast<double>(emission_total_));
    m.family("infergrid_tasks_closed_total", "counter", "Tasks closed since start, by status.");
    for (auto [type, status] : {std::pair{"task_settled", "settled"}, {"task_rejected", "rejected"},
                                {"task_expired", "expired"}, {"task_cancelled", "cancelled"}}) {
      auto it = event_counts_.find(type);
      m.sample("infergrid_tasks_closed_total", it == event_counts_.end() ? 0.0 : static_cast<double>(it->second),
               {{"status", status}});
    }
  }
  m.family("infergrid_tasks", "gauge", "Open tasks now, by status.");
  try {
    for (const auto& [status, n] : open_tasks(ledger_.store().latest()))
      m.sample("infergrid_tasks", static_cast<double>(n), {{"status", status}});
  } catch (const std::exception& e) {
    spdlog::warn("metrics: cannot count open tasks: {}", e.what());
  }

  const rpc::ServerStats st = rpc.stats();
  m.single("infergrid_rpc_connections", "gauge", "Open JSON-RPC connections (HTTP and WebSocket).",
           static_cast<double>(st.connections));
  m.single("infergrid_rpc_subscriptions", "gauge", "Live subscriptions.", static_cast<double>(st.subscriptions));
  m.single("infergrid_rpc_dropped_subscribers_total", "counter", "Subscribers dropped for falling behind.",
           static_cast<double>(st.dropped_subscribers));
  m.single("infergrid_rpc_rejected_connections_total", "counter", "Connections refused over the connection limits.",
           static_cast<double>(st.rejected_connections));
  m.single("infergrid_rpc_refused_requests_total", "counter", "Requests refused for a foreign Origin or Host (403).",
           static_cast<double>(st.refused_requests));
  const auto methods = rpc.method_stats();
  m.family("infergrid_rpc_requests_total", "counter", "JSON-RPC requests by method (unknown names as 'other').");
  for (const auto& s : methods) m.sample("infergrid_rpc_requests_total", static_cast<double>(s.requests), {{"method", s.method}});
  m.family("infergrid_rpc_errors_total", "counter", "JSON-RPC error replies by method.");
  for (const auto& s : methods) m.sample("infergrid_rpc_errors_total", static_cast<double>(s.errors), {{"method", s.method}});
  std::lock_guard l(consensus_mu_);
  for (const auto& source : sources_) source(m);
  return m.text();
}

Status ChainMetrics::attach(rpc::Server& server) {
  IG_TRY(server.add_method("explorer_history", [this](const json& params) -> rpc::MethodResult {
    size_t max = kHistoryBlocks;
    json p = params.is_array() && !params.empty() ? params[0] : params.is_object() ? params.value("blocks", json()) : json();
    if (!p.is_null()) {
      if (!p.is_number_unsigned() || p.get<uint64_t>() == 0 || p.get<uint64_t>() > kHistoryBlocks)
        return rpc::invalid_params("blocks must be within 1.." + std::to_string(kHistoryBlocks));
      max = p.get<size_t>();
    }
    return history(max);
  }));
  return server.add_get("/metrics", [this, &server](const rpc::HttpGet&) {
    return rpc::HttpReply{200, rpc::MetricsText::kContentType, render(server), {{"Cache-Control", "no-store"}}};
  });
}

}  // namespace ig::node
