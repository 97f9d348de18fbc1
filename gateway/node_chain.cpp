#include "gateway/node_chain.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "chain/address.hpp"
#include "gateway/registry_view.hpp"
#include "workers/node_link.hpp"
#include "workers/task_view.hpp"
#include "workers/tx_sender.hpp"

namespace ig::gateway {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
using workers::json_uint;

bool is_closed_status(const std::string& s) {
  return s == "settled" || s == "rejected" || s == "expired" || s == "cancelled";
}

// A task the gateway follows for one caller.
struct Follow {
  uint64_t handle = 0;
  chain::SubmitTask task;
  bool final_at_result = false;
  TaskObserver observer;
  std::vector<std::string> txs;  // signed SubmitTask hashes (a nonce retry signs a second one)
  uint64_t task_id = 0;
  Clock::time_point sent_at{};
  Clock::time_point last_seen{};
  bool sent = false;
  // Its caller left (guarded by Impl::mu). A SubmitTask already signed is followed until its
  // task id is known, so that the task can be cancelled (bind); nothing more is signed.
  bool abandoned = false;
  std::atomic<bool> assigned{false};  // a miner took it: too late to cancel
  // Held while the observer runs, so that abandon() returning means no report is under way.
  std::mutex call_mu;
  bool done = false;
};

std::string short_addr(const std::string& a) { return a.size() > 14 ? a.substr(0, 14) + "…" : a; }

}  // namespace

struct NodeChain::Impl {
  NodeChainOptions opt;
  std::string address;
  std::atomic<bool> stopping{false};
  std::unique_ptr<workers::TxSender> sender;

  // Follows, by handle, by SubmitTask hash and by task id.
  mutable std::mutex mu;
  uint64_t next_handle = 1;
  std::map<uint64_t, std::shared_ptr<Follow>> follows;
  std::map<std::string, uint64_t> by_tx;
  std::map<uint64_t, uint64_t> by_task;

  // Work for the submit thread: a follow to send, or a task id to cancel.
  struct Job {
    std::shared_ptr<Follow> submit;
    uint64_t cancel_task = 0;
  };
  std::mutex jobs_mu;
  std::condition_variable jobs_cv;
  std::deque<Job> jobs;

  RegistryView registry;
  std::atomic<bool> link_up{false};
  std::atomic<uint64_t> height{0}, submitted{0}, submit_failures{0}, cancelled{0}, reconnects{0};
  std::thread watcher, submitter;

  // --- reports -------------------------------------------------------------------------
  void notify(const std::shared_ptr<Follow>& f, const TaskUpdate& u) {
    std::lock_guard l(f->call_mu);
    if (f->done) {
      // Abandoned while its SubmitTask was out: an end (a failed or lost transaction, stop)
      // leaves nothing to cancel.
      if (u.kind == TaskUpdate::Final || u.kind == TaskUpdate::Failed) forget(f->handle);
      return;
    }
    if (u.kind == TaskUpdate::Final || u.kind == TaskUpdate::Failed) f->done = true;
    try {
      f->observer(u);
    } catch (const std::exception& e) {
      spdlog::error("gateway: a task observer failed: {}", e.what());
    }
    if (f->done) forget(f->handle);
  }

  void fail_follow(const std::shared_ptr<Follow>& f, std::string code, std::string message) {
    TaskUpdate u;
    u.kind = TaskUpdate::Failed;
    u.task_id = f->task_id;
    u.error = Error{std::move(code), std::move(message)};
    notify(f, u);
  }

  void forget(uint64_t handle) {
    std::lock_guard l(mu);
    auto it = follows.find(handle);
    if (it == follows.end()) return;
    for (const auto& tx : it->second->txs) by_tx.erase(tx);
    if (it->second->task_id) by_task.erase(it->second->task_id);
    follows.erase(it);
  }

  std::shared_ptr<Follow> find_by_task(uint64_t id) {
    std::lock_guard l(mu);
    auto it = by_task.find(id);
    if (it == by_task.end()) return nullptr;
    auto f = follows.find(it->second);
    return f == follows.end() ? nullptr : f->second;
  }

  std::vector<std::shared_ptr<Follow>> snapshot() {
    std::lock_guard l(mu);
    std::vector<std::shared_ptr<Follow>> out;
    for (auto& [h, f] : follows) out.push_back(f);
    return out;
  }

  // The task id is known: from the task_submitted event, or from the receipt when polling.
  void queue_cancel(uint64_t task_id) {
    std::lock_guard l(jobs_mu);
    jobs.push_back({nullptr, task_id});
    jobs_cv.notify_one();
  }

  void bind(const std::shared_ptr<Follow>& f, uint64_t task_id, const std::string& tx) {
    bool abandoned = false;
    {
      std::lock_guard l(mu);
      if (f->task_id) return;
      f->task_id = task_id;
      f->last_seen = Clock::now();
      by_task[task_id] = f->handle;
      abandoned = f->abandoned;
    }
    if (abandoned) {  // its caller left while the SubmitTask was on its way: cancel the task now
      forget(f->handle);
      if (!f->assigned) queue_cancel(task_id);
      return;
    }
    TaskUpdate u;
    u.kind = TaskUpdate::Submitted;
    u.task_id = task_id;
    u.submit_tx = tx;
    u.detail = "task " + std::to_string(task_id) + " submitted in " + tx.substr(0, 16);
    notify(f, u);
  }

  // --- submit thread -------------------------------------------------------------------
  void run_submitter() {
    for (;;) {
      Job job;
      {
        std::unique_lock l(jobs_mu);
        jobs_cv.wait(l, [&] { return stopping || !jobs.empty(); });
        if (stopping) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      if (job.submit) send_task(job.submit);
      if (job.cancel_task) send_cancel(job.cancel_task);
    }
  }

  void send_task(const std::shared_ptr<Follow>& f) {
    {
      std::lock_guard l(f->call_mu);
      if (f->done) return;  // abandoned while queued
    }
    auto sent = sender->send(f->task, [&](const workers::SentTx& tx) -> Status {
      // Known before it leaves, so the task_submitted event can never outrun the mapping.
      std::lock_guard l(mu);
      if (f->abandoned) return fail("gateway.abandoned", "the client left before the task was sent");
      f->txs.push_back(tx.hash);
      by_tx[tx.hash] = f->handle;
      return {};
    });
    if (!sent) {
      if (sent.error().code == "gateway.abandoned") return;
      ++submit_failures;
      const bool refused = sent.error().code == "tx.rejected";
      return fail_follow(f, refused ? "gateway.tx" : "gateway.node", sent.error().message);
    }
    ++submitted;
    std::lock_guard l(mu);
    f->sent = true;
    f->sent_at = f->last_seen = Clock::now();
  }

  void send_cancel(uint64_t task_id) {
    chain::CancelTask c;
    c.task_id = task_id;
    auto sent = sender->send(c);
    if (sent) {
      ++cancelled;
      spdlog::info("gateway: cancelled abandoned task {} ({})", task_id, sent->hash.substr(0, 16));
    } else {
      spdlog::debug("gateway: cancelling task {} failed: {}", task_id, sent.error().message);
    }
  }

  // --- watcher thread ------------------------------------------------------------------
  void run_watcher() {
    workers::NodeLink link(opt.node_url, &stopping);
    link.set_reconnect_budget(30s);
    auto subscribe_all = [&]() -> Status {
      IG_TRY(link.subscribe("events", json{{"accounts", address}}));
      for (const char* type : {"model_registered", "miner_registered", "miner_updated", "slash", "stake", "unbond"})
        IG_TRY(link.subscribe("events", json{{"type", type}}));
      return link.subscribe("newHeads");
    };
    bool subscribed = false;
    auto last_refresh = Clock::now(), last_poll = Clock::now();
    bool registry_dirty = false;
    while (!stopping) {
      if (!subscribed) {
        auto st = subscribe_all();
        if (!st) {
          link_up = false;
          spdlog::warn("gateway: node {} unreachable: {}", opt.node_url, st.error().message);
          for (int i = 0; i < 20 && !stopping; ++i) std::this_thread::sleep_for(50ms);
          continue;
        }
        subscribed = true;
        link_up = true;
      }
      auto in = link.next(250ms);
      if (!in) {
        if (stopping) return;
        link_up = false;
        spdlog::warn("gateway: lost node {}: {}", opt.node_url, in.error().message);
        continue;  // next() reconnects (and re-subscribes) on the next call
      }
      link_up = true;
      if (in->kind == workers::Incoming::Reconnected) {
        ++reconnects;
        spdlog::info("gateway: reconnected to {}; catching up", opt.node_url);
        registry_dirty = true;
        poll(link, /*all=*/true);
      } else if (in->kind == workers::Incoming::Notification) {
        if (in->topic == "newHeads") {
          if (auto h = json_uint(in->result, "height", "newHeads")) height = *h;
        } else if (on_event(link, in->result)) {
          registry_dirty = true;
        }
      }
      const auto now = Clock::now();
      if (registry_dirty || now - last_refresh > opt.registry_refresh) {
        if (auto st = registry.refresh(link); !st) spdlog::warn("gateway: registry refresh failed: {}", st.error().message);
        registry_dirty = false;
        last_refresh = now;
      }
      if (now - last_poll > 500ms) {
        poll(link, false);
        last_poll = now;
      }
    }
  }

  void touch(const std::shared_ptr<Follow>& f) {
    std::lock_guard l(mu);
    f->last_seen = Clock::now();
  }

  // One event naming the gateway's account, or a registry change (returns true for those).
  bool on_event(workers::NodeLink& link, const json& ev) {
    const std::string type = ev.value("type", "");
    const json attrs = ev.value("attributes", json::object());
    if (type == "model_registered" || type == "miner_registered" || type == "miner_updated" || type == "slash" ||
        type == "stake" || type == "unbond")
      return type != "slash" || attrs.value("role", "") == "miner";
    if (type == "task_submitted") {
      const std::string tx = ev.contains("tx_hash") && ev["tx_hash"].is_string() ? ev["tx_hash"].get<std::string>() : "";
      std::shared_ptr<Follow> f;
      {
        std::lock_guard l(mu);
        auto it = by_tx.find(tx);
        if (it != by_tx.end()) {
          auto fit = follows.find(it->second);
          if (fit != follows.end()) f = fit->second;
        }
      }
      auto id = json_uint(attrs, "task", "task_submitted");
      if (f && id) bind(f, *id, tx);
      return false;
    }
    auto id = json_uint(attrs, "task", type.c_str());
    if (!id) return false;
    auto f = find_by_task(*id);
    if (!f) return false;
    touch(f);
    TaskUpdate u;
    u.kind = TaskUpdate::Progress;
    u.task_id = *id;
    u.stage = type;
    const std::string miner = short_addr(attrs.value("miner", ""));
    if (type == "task_assigned") {
      u.stage = "assigned";
      f->assigned = true;
      u.detail = "assigned to " + miner + ", result due by height " + attrs.value("deadline", "?");
    } else if (type == "task_result") {
      u.stage = "result";
      u.detail = attrs.value("tokens", "?") + " tokens from " + miner + "; verification until height " +
                 attrs.value("window_end", "?");
    } else if (type == "verdict") {
      u.stage = "verdict";
      u.detail = std::string(attrs.value("accept", "") == "true" ? "accepted" : "REJECTED") + " by validator " +
                 short_addr(attrs.value("validator", ""));
    } else if (type == "task_timeout") {
      u.stage = "timeout";
      u.detail = miner + " missed the deadline; the task goes back to the queue";
    } else if (type != "task_settled" && type != "task_rejected" && type != "task_expired" && type != "task_cancelled") {
      return false;
    }
    if (!u.detail.empty()) notify(f, u);
    if (type == "task_settled" || type == "task_rejected" || type == "task_expired" || type == "task_cancelled" ||
        (type == "task_result" && f->final_at_result))
      read_task(link, f);
    return false;
  }

  // Reads the task and reports it when it has reached the stage the caller waits for.
  void read_task(workers::NodeLink& link, const std::shared_ptr<Follow>& f) {
    auto t = link.call("task_get", json::array({f->task_id}));
    if (!t) {
      spdlog::debug("gateway: task_get {} failed: {}", f->task_id, t.error().message);
      return;  // the next poll tries again
    }
    touch(f);
    const std::string status = t->value("status", "");
    if (is_closed_status(status) || (f->final_at_result && status == "submitted")) {
      TaskUpdate u;
      u.kind = TaskUpdate::Final;
      u.task_id = f->task_id;
      u.stage = status;
      u.task = std::move(*t);
      notify(f, u);
    }
  }

  // Catches up on what notifications may not have said: a SubmitTask whose task id is unknown
  // (receipt), a task quiet for poll_interval (task_get). `all`: after a reconnect.
  void poll(workers::NodeLink& link, bool all) {
    const auto now = Clock::now();
    size_t budget = 64;  // calls per round: a long backlog is worked through over several rounds
    for (auto& f : snapshot()) {
      if (budget == 0) break;
      bool sent, bound, quiet, young;
      {
        std::lock_guard l(mu);
        sent = f->sent;
        bound = f->task_id != 0;
        quiet = now - f->last_seen > opt.poll_interval;
        young = now - f->sent_at < 1500ms;
      }
      if (!sent) continue;
      if (!bound) {
        if (!all && young) continue;
        --budget;
        poll_receipt(link, f, now);
      } else if (all || quiet) {
        --budget;
        read_task(link, f);
      }
    }
  }

  void poll_receipt(workers::NodeLink& link, const std::shared_ptr<Follow>& f, Clock::time_point now) {
    std::vector<std::string> txs;
    {
      std::lock_guard l(mu);
      txs = f->txs;
    }
    Clock::time_point sent_at;
    {
      std::lock_guard l(mu);
      sent_at = f->sent_at;
    }
    for (const auto& tx : txs) {
      auto r = link.call("tx_receipt", json::array({tx}));
      if (!r || r->is_null()) continue;
      if (r->value("status", "") != "ok")
        return fail_follow(f, "gateway.tx", "the task's transaction failed in its block: " + r->value("status", "?") + " " +
                                                r->value("error", ""));
      if (r->contains("events") && (*r)["events"].is_array())
        for (const auto& e : (*r)["events"])
          if (e.value("type", "") == "task_submitted")
            if (auto id = json_uint(e.value("attributes", json::object()), "task", "task_submitted")) return bind(f, *id, tx);
    }
    if (now - sent_at > opt.inclusion_timeout)
      fail_follow(f, "gateway.lost", "the task's transaction was not included within " +
                                         std::to_string(opt.inclusion_timeout.count() / 1000) + " s");
  }
};

NodeChain::NodeChain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeChain::~NodeChain() { stop(); }

Expected<std::unique_ptr<NodeChain>> NodeChain::start(NodeChainOptions options) {
  if (!options.key) return fail("gateway.config", "the gateway needs its account key");
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->address = chain::address_to_string(impl->opt.key->public_key());
  impl->sender = std::make_unique<workers::TxSender>(impl->opt.node_url, *impl->opt.key, &impl->stopping);
  {
    workers::NodeLink probe(impl->opt.node_url, &impl->stopping);
    probe.set_reconnect_budget(10s);
    IG_TRY(impl->registry.refresh(probe));
  }
  impl->link_up = true;
  Impl* d = impl.get();
  d->watcher = std::thread([d] { d->run_watcher(); });
  d->submitter = std::thread([d] { d->run_submitter(); });
  return std::unique_ptr<NodeChain>(new NodeChain(std::move(impl)));
}

void NodeChain::stop() {
  Impl& d = *impl_;
  {
    std::lock_guard l(d.jobs_mu);
    d.stopping = true;
  }
  d.jobs_cv.notify_all();
  if (d.watcher.joinable()) d.watcher.join();
  if (d.submitter.joinable()) d.submitter.join();
  for (auto& f : d.snapshot()) d.fail_follow(f, "gateway.stopping", "the gateway is stopping");
}

std::vector<ModelEntry> NodeChain::models() const { return impl_->registry.models(); }
bool NodeChain::connected() const { return impl_->link_up.load(); }
std::string NodeChain::account() const { return impl_->address; }

uint64_t NodeChain::submit(const chain::SubmitTask& task, bool final_at_result, TaskObserver observer) {
  auto f = std::make_shared<Follow>();
  f->task = task;
  f->final_at_result = final_at_result;
  f->observer = std::move(observer);
  {
    // Under the queue's lock, which stop() takes to set `stopping`: a follow is either queued
    // before stop() looks (and is failed by it) or refused here.
    std::lock_guard jl(impl_->jobs_mu);
    if (!impl_->stopping) {
      {
        std::lock_guard l(impl_->mu);
        f->handle = impl_->next_handle++;
        impl_->follows[f->handle] = f;
      }
      impl_->jobs.push_back({f, 0});
      impl_->jobs_cv.notify_one();
      return f->handle;
    }
  }
  // Nothing would ever report on it: say so now, and keep nothing (the observer may hold the
  // caller's connection, which must not outlive the caller's server).
  TaskUpdate u;
  u.kind = TaskUpdate::Failed;
  u.error = Error{"gateway.node", "the gateway is stopping"};
  f->observer(u);
  return 0;
}

void NodeChain::abandon(uint64_t handle) {
  std::shared_ptr<Follow> f;
  {
    std::lock_guard l(impl_->mu);
    auto it = impl_->follows.find(handle);
    if (it == impl_->follows.end()) return;
    f = it->second;
  }
  {
    std::lock_guard l(f->call_mu);
    if (f->done) return;
    f->done = true;
  }
  uint64_t task_id = 0;
  bool on_its_way = false;
  {
    std::lock_guard l(impl_->mu);
    f->abandoned = true;
    task_id = f->task_id;
    // Signed (and maybe in a block already) but its task id not yet known: bind() cancels it.
    on_its_way = !task_id && !f->txs.empty();
  }
  if (on_its_way) return;
  impl_->forget(handle);
  // A task no miner has taken yet is cancelled so that its escrow returns; one already assigned
  // runs to its end on chain (and is paid for), but nobody waits for it.
  if (task_id && !f->assigned) impl_->queue_cancel(task_id);
}

ChainStats NodeChain::stats() const {
  ChainStats s;
  s.submitted = impl_->submitted;
  s.submit_failures = impl_->submit_failures;
  s.cancelled = impl_->cancelled;
  s.reconnects = impl_->reconnects;
  s.height = impl_->height;
  std::lock_guard l(impl_->mu);
  s.following = impl_->follows.size();
  return s;
}

}  // namespace ig::gateway
