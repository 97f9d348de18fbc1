#include "workers/miner.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <map>
#include <set>
#include <thread>

#include "chain/address.hpp"
#include "common/dir_lock.hpp"
#include "inference/receipt/result.hpp"
#include "workers/decode_loop.hpp"
#include "workers/journal.hpp"
#include "workers/model_catalog.hpp"
#include "workers/node_link.hpp"
#include "workers/task_view.hpp"
#include "workers/tasks_query.hpp"
#include "workers/tx_sender.hpp"

namespace ig::workers {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Journal states of a task (journal "tasks" → id → {"state", ...}).
constexpr const char* kSigned = "signed";        // a result is signed and journaled; maybe sent
constexpr const char* kUnservable = "unservable";  // given up (reason recorded); never retried

}  // namespace

struct MinerWorker::Impl {
  MinerOptions opt;
  std::string address;
  DirLock lock;
  std::optional<Journal> journal;
  std::mutex journal_mu;
  ModelCatalog catalog;
  std::optional<ModelCatalog> cheat_catalog;  // TEST/DEMO: the substitute model
  std::unique_ptr<TxSender> sender;
  uint32_t concurrency = 1;
  std::unique_ptr<DecodeLoop> decode;  // every generation; the tasks of a model decoded together

  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;       // work for the job threads
  std::condition_variable done_cv;  // wait(): stopping (a separate one, so no wake-up meant for a job is lost)
  std::deque<uint64_t> queue;
  std::set<uint64_t> known;  // queued or running or done in this run
  // Tasks being served, each with a flag set when the chain takes it back (task_timeout, or
  // left out of the catch-up listing after a reconnect): its generation stops at the next
  // token and nothing is submitted.
  std::map<uint64_t, std::shared_ptr<std::atomic<bool>>> serving;
  std::optional<Error> fatal;
  std::thread events_thread;
  std::vector<std::thread> job_threads;

  mutable std::mutex stats_mu;
  MinerStats stats;

  // --- journal ------------------------------------------------------------------------
  std::optional<nlohmann::json> journal_entry(uint64_t id) {
    std::lock_guard l(journal_mu);
    const auto& tasks = journal->data()["tasks"];
    auto key = std::to_string(id);
    if (!tasks.is_object() || !tasks.contains(key)) return std::nullopt;
    return tasks[key];
  }
  Status journal_put(uint64_t id, nlohmann::json entry) {
    std::lock_guard l(journal_mu);
    journal->data()["tasks"][std::to_string(id)] = std::move(entry);
    return journal->save();
  }

  // --- queue --------------------------------------------------------------------------
  void enqueue(uint64_t id) {
    {
      std::lock_guard l(mu);
      if (!known.insert(id).second) return;
      queue.push_back(id);
      // Counted before the task can be popped: counted after, a job thread could serve it and
      // find nothing to take off the gauge first, which then stayed one too high for good.
      // (Lock order: mu, then stats_mu; nothing takes them the other way round.)
      std::lock_guard s(stats_mu);
      ++stats.assigned;
      ++stats.queue_depth;
    }
    cv.notify_one();
  }
  void set_fatal(Error e) {
    std::lock_guard l(mu);
    if (!fatal) fatal = std::move(e);
    stopping = true;
    cv.notify_all();
    done_cv.notify_all();
  }

  // --- catching up ----------------------------------------------------------------------
  // Every task assigned to this miner that is still open: after a start or a reconnect,
  // the notifications of assignments made meanwhile may have been missed. So may a
  // task_timeout: a task being served that the listing leaves out is no longer this miner's,
  // and its generation stops as if the event had come. Only tasks served before the listing
  // was asked for are compared with it (one that task_get found assigned later may be newer
  // than the listing), and a listing that fails stops nothing.
  Status catch_up(NodeLink& link) {
    std::vector<std::pair<uint64_t, std::shared_ptr<std::atomic<bool>>>> served;
    {
      std::lock_guard l(mu);
      served.assign(serving.begin(), serving.end());
    }
    IG_TRY_ASSIGN(tasks, assigned_tasks(link, address));
    std::set<uint64_t> open;
    for (const auto& t : tasks) open.insert(t.id);
    for (const auto& [id, taken_back] : served) {
      if (open.count(id) || taken_back->load()) continue;
      spdlog::info("miner {}: task {} is no longer assigned to it (taken back while the link was down); stopping it",
                   short_addr(), id);
      *taken_back = true;
    }
    for (const auto& t : tasks) enqueue(t.id);
    if (!tasks.empty()) spdlog::info("miner {}: {} open assignment(s) to catch up on", short_addr(), tasks.size());
    return {};
  }

  std::string short_addr() const { return address.substr(0, 12) + "…"; }

  // The deadline of a task passed before its result was in (task_timeout): the chain gave it
  // to another miner or refunded it, so a result would be refused and its fee lost.
  void withdrawn(uint64_t id) {
    std::lock_guard l(mu);
    if (auto it = serving.find(id); it != serving.end()) *it->second = true;
  }

  // --- the event loop -------------------------------------------------------------------
  void run_events() {
    NodeLink link(opt.node_url, &stopping);
    auto st = link.subscribe("events", nlohmann::json{{"type", "task_assigned"}, {"accounts", address}});
    if (st) st = link.subscribe("events", nlohmann::json{{"type", "task_timeout"}, {"accounts", address}});
    if (st) st = catch_up(link);
    if (!st) return set_fatal(st.error());
    while (!stopping) {
      auto in = link.next(500ms);
      if (!in) {
        if (!stopping) set_fatal(in.error());
        return;
      }
      if (in->kind == Incoming::Reconnected) {
        spdlog::info("miner {}: reconnected to {}; catching up", short_addr(), opt.node_url);
        if (auto c = catch_up(link); !c) spdlog::warn("miner {}: catch-up failed: {}", short_addr(), c.error().message);
        continue;
      }
      if (in->kind != Incoming::Notification) continue;
      const auto& attrs = in->result.value("attributes", nlohmann::json::object());
      if (!attrs.is_object() || attrs.value("miner", "") != address) continue;
      const std::string type = in->result.value("type", "");
      auto id = json_uint(attrs, "task", "task event");
      if (!id) continue;
      if (type == "task_assigned") enqueue(*id);
      else if (type == "task_timeout") withdrawn(*id);
    }
  }

  // --- jobs -----------------------------------------------------------------------------
  void run_jobs() {
    for (;;) {
      uint64_t id = 0;
      {
        std::unique_lock l(mu);
        cv.wait(l, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        id = queue.front();
        queue.pop_front();
      }
      serve(id);
      std::lock_guard l(stats_mu);
      if (stats.queue_depth) --stats.queue_depth;
    }
  }

  void give_up(uint64_t id, const std::string& why) {
    spdlog::warn("miner {}: task {}: {}", short_addr(), id, why);
    (void)journal_put(id, {{"state", kUnservable}, {"reason", why}});
    std::lock_guard l(stats_mu);
    ++stats.failed;
  }

  void serve(uint64_t id) {
    if (auto entry = journal_entry(id)) {
      const std::string state = entry->value("state", "");
      if (state == kSigned) return resend(id, *entry);
      if (state == kUnservable) return;
    }
    auto reply = sender->call("task_get", nlohmann::json::array({id}));
    if (!reply) return give_up(id, "task_get failed: " + reply.error().message);
    auto task = parse_task(*reply);
    if (!task) return give_up(id, task.error().message);
    if (task->status != "assigned" || task->miner != address) return;  // reassigned or done meanwhile
    auto head = sender->call("chain_head", nlohmann::json::array());
    if (head) {
      auto h = json_uint(*head, "height", "chain_head");
      if (h && *h > task->deadline) return give_up(id, "the deadline (height " + std::to_string(task->deadline) + ") has passed");
    }
    const CatalogModel* model = catalog.find(task->model_id);
    if (!model) return give_up(id, "model " + task->model_id.substr(0, 16) + "… is not among this miner's files");
    auto taken_back = std::make_shared<std::atomic<bool>>(false);
    {
      std::lock_guard l(mu);
      serving[id] = taken_back;
    }
    serve_assigned(id, *task, *model, *taken_back);
    std::lock_guard l(mu);
    serving.erase(id);
  }

  // An assigned task the miner serves: generate, sign, journal, send. Stops when `taken_back`.
  void serve_assigned(uint64_t id, const TaskView& task, const CatalogModel& model, const std::atomic<bool>& taken_back) {
    // TEST/DEMO ONLY: a cheating miner answers some tasks with another model or alters a token.
    const bool cheat = cheats_on(opt.cheat, id);
    const CatalogModel* run_with = &model;
    if (cheat && opt.cheat.kind == "model" && cheat_catalog) run_with = cheat_catalog->find(cheat_catalog->ids_hex().front());

    auto result = receipt::run_task_with(
        *run_with->tokenizer, model.id, receipt::backend_tag(decode->backend()), task.prompt, task.params,
        [&](std::span<const int32_t> ids) {
          return decode->generate(*run_with->model, {std::vector<int32_t>(ids.begin(), ids.end()), task.params,
                                                     run_with->model->config().eog_ids,
                                                     [&taken_back](int32_t) { return !taken_back.load(); }});
        });
    if (!result) return give_up(id, "generation failed: " + result.error().message);
    const auto gone = [&] {
      if (taken_back) return true;
      // A task_timeout missed while the link was down: ask the chain before signing.
      auto now = sender->call("task_get", nlohmann::json::array({id}));
      if (!now) return false;  // the send reports what is wrong with the node
      auto v = parse_task(*now);
      return v && (v->status != "assigned" || v->miner != address);
    };
    if (gone())
      return give_up(id, "the deadline (height " + std::to_string(task.deadline) +
                             ") passed while it was generated; the chain took the task back (stopped after " +
                             std::to_string(result->output.size()) + " tokens, nothing submitted)");
    if (cheat && opt.cheat.kind == "token") {
      uint32_t step = alter_one_token(*result, model, opt.cheat, id);
      spdlog::warn("miner {}: task {}: CHEATING (test option): token at step {} altered", short_addr(), id, step);
    } else if (cheat) {
      spdlog::warn("miner {}: task {}: CHEATING (test option): answered with {}", short_addr(), id, run_with->path);
    }
    const double seconds = result->prefill_seconds + result->decode_seconds;
    chain::SubmitResult payload;
    payload.task_id = id;
    payload.output_tokens = result->output;
    payload.fingerprints = result->fingerprints;
    payload.text = result->text;
    payload.receipt = result->receipt;
    auto sent = sender->send(payload, [&](const SentTx& tx) {
      return journal_put(id, {{"state", kSigned}, {"tx_hash", tx.hash}, {"tx", tx.tx_hex}});
    });
    if (!sent) return give_up(id, "submitting the result failed: " + sent.error().message);
    {
      std::lock_guard l(stats_mu);
      ++stats.submitted;
      if (cheat) ++stats.cheated;
      stats.tokens += result->output.size();
      stats.busy_seconds += seconds;
    }
    spdlog::info("miner {}: task {}: {} tokens in {:.2f} s ({:.0f} tok/s), result {}", short_addr(), id,
                 result->output.size(), seconds, seconds > 0 ? double(result->output.size()) / seconds : 0.0,
                 sent->hash.substr(0, 16));
  }

  // A result signed before a restart: send exactly those bytes again (never a new signature).
  void resend(uint64_t id, const nlohmann::json& entry) {
    SentTx tx{entry.value("tx_hash", ""), entry.value("tx", ""), 0};
    if (tx.hash.empty() || tx.tx_hex.empty()) return give_up(id, "journal entry without a transaction");
    auto st = sender->resend(tx);
    if (!st) {
      // Keep the signed entry: those bytes stay the only result this miner ever signs for the task.
      spdlog::warn("miner {}: task {}: re-sending the result signed before a restart failed: {}", short_addr(), id,
                   st.error().message);
      std::lock_guard l(stats_mu);
      ++stats.failed;
      return;
    }
    spdlog::info("miner {}: task {}: result {} (signed before a restart) is with the node", short_addr(), id,
                 tx.hash.substr(0, 16));
  }
};

MinerWorker::MinerWorker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MinerWorker::~MinerWorker() { stop(); }

Expected<std::unique_ptr<MinerWorker>> MinerWorker::create(MinerOptions options) {
  if (options.model_paths.empty()) return fail("miner.no_model", "a miner needs at least one model file (--model)");
  if (options.state_dir.empty()) return fail("miner.config", "a miner needs a state directory");
  if (!options.key) return fail("miner.config", "a miner needs its account key");
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->address = chain::address_to_string(impl->opt.key->public_key());
  return std::unique_ptr<MinerWorker>(new MinerWorker(std::move(impl)));
}

std::string MinerWorker::address() const { return impl_->address; }

Status MinerWorker::start() {
  Impl& d = *impl_;
  ::mkdir(d.opt.state_dir.c_str(), 0700);
  IG_TRY_ASSIGN(lock, DirLock::acquire(d.opt.state_dir, "infergrid miner " + d.address));
  d.lock = std::move(lock);
  IG_TRY_ASSIGN(journal, Journal::open(d.opt.state_dir + "/miner-journal.json"));
  d.journal = std::move(journal);
  if (!d.journal->data().contains("tasks")) d.journal->data()["tasks"] = nlohmann::json::object();
  IG_TRY_ASSIGN(catalog, ModelCatalog::load(d.opt.model_paths));
  d.catalog = std::move(catalog);
  if (d.opt.cheat.kind == "model") {
    IG_TRY_ASSIGN(cheat_catalog, ModelCatalog::load({d.opt.cheat.model_path}));
    d.cheat_catalog = std::move(cheat_catalog);
  }
  d.sender = std::make_unique<TxSender>(d.opt.node_url, *d.opt.key, &d.stopping);

  auto registered = d.sender->call("registry_miner", nlohmann::json::array({d.address}));
  if (!registered && registered.error().code != "rpc.-32001") return fail(registered.error());
  const nlohmann::json reg = registered ? *registered : nlohmann::json();
  if (reg.is_null())
    return fail("miner.not_registered", d.address + " is not a registered miner: stake and register it first "
                                                    "(infergrid-wallet stake --role miner, register-miner; docs/workers.md)");
  uint32_t declared = 1;
  if (auto mc = json_uint(reg, "max_concurrent", "registry_miner")) declared = static_cast<uint32_t>(std::max<uint64_t>(1, *mc));
  bool serves_one = false;
  if (reg.contains("models") && reg["models"].is_array())
    for (const auto& m : reg["models"])
      if (m.is_string() && d.catalog.find(m.get<std::string>())) serves_one = true;
  if (!serves_one)
    return fail("miner.no_model", "none of the given model files is among the models " + d.address + " registered to serve");
  d.concurrency = d.opt.max_concurrent ? std::min(d.opt.max_concurrent, declared) : declared;
  kernels::BackendOptions bo;
  bo.kind = d.opt.backend;
  bo.threads = d.opt.threads;
  IG_TRY_ASSIGN(decode, DecodeLoop::start(bo, int(std::min<uint32_t>(d.concurrency, engine::Forward::kChunk))));
  d.decode = std::move(decode);
  if (d.opt.cheat.enabled())
    spdlog::warn("miner {}: CHEATING ENABLED ({} on {}‰ of tasks): a TEST/DEMO option, never for a real network",
                 d.short_addr(), d.opt.cheat.kind, d.opt.cheat.rate_milli);
  spdlog::info("miner {}: serving {} model(s), {} task(s) at a time, node {}", d.short_addr(), d.catalog.ids_hex().size(),
               d.concurrency, d.opt.node_url);
  d.events_thread = std::thread([&d] { d.run_events(); });
  for (uint32_t i = 0; i < d.concurrency; ++i) d.job_threads.emplace_back([&d] { d.run_jobs(); });
  return {};
}

void MinerWorker::stop() {
  Impl& d = *impl_;
  {
    std::lock_guard l(d.mu);
    d.stopping = true;
  }
  d.cv.notify_all();
  d.done_cv.notify_all();
  if (d.events_thread.joinable()) d.events_thread.join();
  if (d.decode) d.decode->stop();  // before the jobs: one waiting on a generation gets "worker.stopping"
  for (auto& t : d.job_threads)
    if (t.joinable()) t.join();
  d.job_threads.clear();
}

Status MinerWorker::wait() {
  Impl& d = *impl_;
  std::unique_lock l(d.mu);
  d.done_cv.wait(l, [&] { return d.stopping.load(); });
  if (d.fatal) return fail(*d.fatal);
  return {};
}

MinerStats MinerWorker::stats() const {
  MinerStats s;
  {
    std::lock_guard l(impl_->stats_mu);
    s = impl_->stats;
  }
  if (impl_->decode) {
    const auto d = impl_->decode->stats();
    s.decode_steps = d.steps;
    s.decode_sequence_steps = d.sequence_steps;
    s.decode_peak_batch = d.peak_sequences;
  }
  return s;
}

}  // namespace ig::workers
