#include "workers/verifier.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "chain/address.hpp"
#include "chain/tx.hpp"
#include "common/dir_lock.hpp"
#include "inference/receipt/result.hpp"
#include "inference/receipt/verifier.hpp"
#include "wallet/weights_file.hpp"
#include "workers/journal.hpp"
#include "workers/model_catalog.hpp"
#include "workers/node_link.hpp"
#include "workers/scoring.hpp"
#include "workers/task_view.hpp"
#include "workers/tasks_query.hpp"
#include "workers/tx_sender.hpp"

namespace ig::workers {
namespace {

using namespace std::chrono_literals;
using njson = nlohmann::json;

struct Check {
  uint64_t task_id = 0;
  std::string tx_hash;  // the result transaction, when the event named it
};

njson tally_to_json(const MinerTally& t) {
  return {{"verified", t.verified}, {"rejected", t.rejected}, {"missed", t.missed}, {"latency_blocks", t.latency_blocks}};
}
MinerTally tally_from_json(const njson& j) {
  MinerTally t;
  t.verified = j.value("verified", uint64_t{0});
  t.rejected = j.value("rejected", uint64_t{0});
  t.missed = j.value("missed", uint64_t{0});
  t.latency_blocks = j.value("latency_blocks", uint64_t{0});
  return t;
}

}  // namespace

Expected<chain::Verdict> chain_verdict(uint64_t task_id, const receipt::Verdict& v) {
  chain::Verdict verdict;
  verdict.task_id = task_id;
  verdict.accept = v.accepted;
  if (v.accepted) return verdict;
  std::string code = v.code;
  if (!v.has_proof) {
    // Without a step proof the chain takes only the reasons it cannot check itself (the stop
    // rule, the text, the drift test over the whole output). "Too long" is the stop rule;
    // anything else (the prompt does not tokenize, a receipt field the chain already checked
    // at submission) is not the miner's fault to prove.
    if (code == "verify.too_long") code = std::string(chain::kReasonStopRule);
    if (!chain::reason_needs_no_evidence(code))
      return fail("verifier.unposted", "not posting a reject for " + code + " (" + v.reason + "): the chain cannot check it");
  }
  verdict.reason = code;
  verdict.first_bad_step = v.first_bad_step < 0 ? 0 : static_cast<uint32_t>(v.first_bad_step);
  // The recomputed fingerprint that differs from the claim: for a claimed token with honest
  // numbers but the wrong choice (another seed), that is the verifier's own choice.
  if (v.has_proof) verdict.evidence = chain::StepEvidence{v.claimed, v.proof, receipt::differing_fingerprint(v)};
  return verdict;
}

Expected<receipt::Verdict> check_result(const CatalogModel& model, kernels::Backend& backend,
                                        const receipt::TaskResult& result) {
  return receipt::verify(*model.model, *model.tokenizer, model.id, backend, result,
                         receipt::mode_for(result.receipt, backend));
}

bool sampled_for_check(const Hash32& block_hash, uint64_t task_id, const chain::Address& account, uint32_t sample_ppm) {
  if (sample_ppm >= 1'000'000) return true;
  uint8_t buf[32 + 8 + 32];
  std::copy(block_hash.begin(), block_hash.end(), buf);
  for (int i = 0; i < 8; ++i) buf[32 + i] = static_cast<uint8_t>(task_id >> (8 * i));
  std::copy(account.begin(), account.end(), buf + 40);
  Hash32 h = sha256(buf);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | h[i];
  return v % 1'000'000 < sample_ppm;
}

struct VerifierWorker::Impl {
  VerifierOptions opt;
  chain::Address account{};
  std::string address;
  std::string secrets_dir;  // "wallet dir" for weight secrets (its own lock, apart from state_dir's)
  DirLock lock;
  ModelCatalog catalog;
  std::unique_ptr<TxSender> sender;
  uint64_t tempo = 100, reveal_window = 50;

  std::atomic<bool> stopping{false};
  std::mutex mu;  // queue, judged, fatal
  std::condition_variable cv;       // work for the job threads
  std::condition_variable done_cv;  // wait(): stopping (a separate one, so no wake-up meant for a job is lost)
  std::deque<Check> queue;
  std::set<uint64_t> queued;
  std::optional<Error> fatal;
  std::thread events_thread, check_thread;

  std::mutex journal_mu;  // journal and tallies
  std::optional<Journal> journal;
  std::map<std::string, uint16_t> uid_of;  // miner address -> uid (cache)

  mutable std::mutex stats_mu;
  VerifierStats stats;

  std::string short_addr() const { return address.substr(0, 12) + "…"; }

  void set_fatal(Error e) {
    std::lock_guard l(mu);
    if (!fatal) fatal = std::move(e);
    stopping = true;
    cv.notify_all();
    done_cv.notify_all();
  }

  bool judged(uint64_t id) {
    std::lock_guard l(journal_mu);
    return journal->data()["judged"].contains(std::to_string(id));
  }

  void enqueue(Check c, bool priority) {
    {
      std::lock_guard l(mu);
      if (!queued.insert(c.task_id).second) {
        if (!priority) return;
        // already queued: move it to the front
        for (auto it = queue.begin(); it != queue.end(); ++it)
          if (it->task_id == c.task_id) {
            queue.erase(it);
            break;
          }
      }
      if (priority) queue.push_front(std::move(c));
      else queue.push_back(std::move(c));
    }
    cv.notify_one();
  }

  // --- sampling -------------------------------------------------------------------------
  Expected<bool> should_check(NodeLink& link, uint64_t task_id, uint64_t result_height) {
    IG_TRY_ASSIGN(block, link.call("chain_getBlock", njson::array({result_height, false})));
    if (!block.is_object() || !block.contains("hash") || !block["hash"].is_string())
      return fail("rpc.bad_reply", "chain_getBlock: field 'hash' missing");
    IG_TRY_ASSIGN(hash, chain::from_hex_fixed<32>(block["hash"].get<std::string>()));
    return sampled_for_check(hash, task_id, account, opt.sample_ppm);
  }

  void on_result_seen(NodeLink& link, uint64_t task_id, uint64_t height, std::string tx_hash) {
    if (judged(task_id)) return;
    {
      std::lock_guard l(stats_mu);
      ++stats.seen;
    }
    auto sampled = should_check(link, task_id, height);
    if (!sampled) {
      spdlog::warn("verifier {}: task {}: cannot decide whether to check it: {}", short_addr(), task_id, sampled.error().message);
      return;
    }
    if (!*sampled) return;
    {
      std::lock_guard l(stats_mu);
      ++stats.sampled;
    }
    enqueue(Check{task_id, std::move(tx_hash)}, false);
  }

  Status catch_up(NodeLink& link) {
    IG_TRY_ASSIGN(tasks, awaiting_verdict(link, address));
    for (const auto& t : tasks) on_result_seen(link, t.id, t.result_height, t.result_tx.value_or(""));
    return {};
  }

  // --- tallies --------------------------------------------------------------------------
  Expected<uint16_t> uid(const std::string& miner) {
    {
      std::lock_guard l(journal_mu);
      if (auto it = uid_of.find(miner); it != uid_of.end()) return it->second;
    }
    IG_TRY_ASSIGN(m, sender->call("registry_miner", njson::array({miner})));
    IG_TRY_ASSIGN(u, json_uint(m, "uid", "registry_miner"));
    if (u > UINT16_MAX) return fail("rpc.bad_reply", "registry_miner: uid out of range");
    std::lock_guard l(journal_mu);
    uid_of[miner] = static_cast<uint16_t>(u);
    return static_cast<uint16_t>(u);
  }

  void tally(const std::string& miner, const std::function<void(MinerTally&)>& update) {
    auto u = uid(miner);
    if (!u) {
      spdlog::warn("verifier {}: miner {} has no uid: {}", short_addr(), miner.substr(0, 12), u.error().message);
      return;
    }
    std::lock_guard l(journal_mu);
    njson& tallies = journal->data()["tallies"];
    const std::string key = std::to_string(*u);
    MinerTally t = tallies.contains(key) ? tally_from_json(tallies[key]) : MinerTally{};
    update(t);
    tallies[key] = tally_to_json(t);
    (void)journal->save();
  }

  // --- checking -------------------------------------------------------------------------
  void run_checks() {
    kernels::BackendOptions bo;
    bo.kind = opt.backend;
    bo.threads = opt.threads;
    auto backend = kernels::make_backend(bo);
    if (!backend) return set_fatal(backend.error());
    for (;;) {
      Check c;
      {
        std::unique_lock l(mu);
        cv.wait(l, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        c = std::move(queue.front());
        queue.pop_front();
        queued.erase(c.task_id);
      }
      if (judged(c.task_id)) continue;
      auto st = check(c, **backend);
      if (!st) spdlog::warn("verifier {}: task {}: {}", short_addr(), c.task_id, st.error().message);
    }
  }

  Expected<chain::SubmitResult> result_payload(const std::string& tx_hash) {
    IG_TRY_ASSIGN(tx, sender->call("chain_getTx", njson::array({tx_hash})));
    if (!tx.is_object() || !tx.contains("raw") || !tx["raw"].is_string())
      return fail("rpc.bad_reply", "chain_getTx: field 'raw' missing");
    IG_TRY_ASSIGN(bytes, chain::from_hex(tx["raw"].get<std::string>()));
    IG_TRY_ASSIGN(decoded, chain::decode_tx(bytes));
    if (!std::holds_alternative<chain::SubmitResult>(decoded.body.payload))
      return fail("verifier.not_a_result", "transaction " + tx_hash.substr(0, 16) + " is not a SubmitResult");
    return std::get<chain::SubmitResult>(decoded.body.payload);
  }

  Status check(const Check& c, kernels::Backend& backend) {
    IG_TRY_ASSIGN(reply, sender->call("task_get", njson::array({c.task_id})));
    IG_TRY_ASSIGN(task, parse_task(reply));
    if (task.status != "submitted") return {};  // settled or rejected meanwhile
    const CatalogModel* model = catalog.find(task.model_id);
    if (!model) return fail("verifier.no_model", "model " + task.model_id.substr(0, 16) + "… is not among this verifier's files");
    std::string tx_hash = c.tx_hash.empty() ? task.result_tx.value_or("") : c.tx_hash;
    if (tx_hash.empty()) return fail("verifier.no_result_tx", "the task does not name its result transaction");
    IG_TRY_ASSIGN(payload, result_payload(tx_hash));

    receipt::TaskResult result;
    result.receipt = payload.receipt;
    result.prompt = task.prompt;
    result.params = task.params;
    result.output = payload.output_tokens;
    result.fingerprints = payload.fingerprints;
    result.text = payload.text;
    const auto started = std::chrono::steady_clock::now();
    IG_TRY_ASSIGN(v, check_result(*model, backend, result));
    const receipt::Mode mode = v.mode;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    // The verdict window may have closed while the check ran: the chain takes a verdict only for
    // a task still "submitted" (contracts/verdicts.cpp; it settles at the end of block
    // window_end, or is resolved earlier by rejects), and refuses any other as
    // tasks.not_in_window, keeping its fee. A re-read that fails sends anyway (the send reports
    // what is wrong with the node).
    if (auto now = sender->call("task_get", njson::array({c.task_id}))) {
      if (auto t = parse_task(*now); t && t->status != "submitted") {
        {
          std::lock_guard l(journal_mu);
          journal->data()["judged"][std::to_string(c.task_id)] = {{"skipped", "window_closed"}};
          (void)journal->save();
        }
        {
          std::lock_guard l(stats_mu);
          ++stats.too_late;
        }
        return fail("verifier.window_closed", "the verdict window closed during the check (the task is " + t->status +
                                                  " now); no verdict sent");
      }
    }

    auto posted = chain_verdict(c.task_id, v);
    if (!posted) {
      std::lock_guard l(journal_mu);
      journal->data()["judged"][std::to_string(c.task_id)] = {{"skipped", v.code}};
      (void)journal->save();
      return fail(posted.error());
    }
    const chain::Verdict& verdict = *posted;
    IG_TRY_ASSIGN(sent, sender->send(verdict));
    {
      std::lock_guard l(journal_mu);
      journal->data()["judged"][std::to_string(c.task_id)] = {
          {"accept", v.accepted}, {"reason", verdict.reason}, {"mode", receipt::mode_name(mode)}, {"tx", sent.hash}};
      (void)journal->save();
    }
    if (task.miner) {
      const uint64_t latency = task.result_height > task.assigned_height ? task.result_height - task.assigned_height : 0;
      tally(*task.miner, [&](MinerTally& t) {
        if (v.accepted) {
          ++t.verified;
          t.latency_blocks += latency;
        } else {
          ++t.rejected;
        }
      });
    }
    {
      std::lock_guard l(stats_mu);
      (v.accepted ? stats.accepted : stats.rejected)++;
      stats.verify_seconds += seconds;
      stats.verified_tokens += result.output.size();
    }
    if (v.accepted) {
      spdlog::info("verifier {}: task {}: accepted ({} mode, {} tokens in {:.2f} s)", short_addr(), c.task_id,
                   mode == receipt::Mode::Exact ? "exact" : "tolerant", result.output.size(), seconds);
    } else {
      spdlog::info("verifier {}: task {}: REJECTED at step {}: {} ({}; {} mode)", short_addr(), c.task_id,
                   v.first_bad_step, v.code, v.reason, receipt::mode_name(mode));
    }
    return {};
  }

  // --- weights: commit each epoch, reveal in the next --------------------------------------
  void on_head(uint64_t height) {
    const uint64_t epoch = height / tempo, pos = height % tempo;
    if (epoch > 0 && pos < reveal_window) reveal(epoch - 1);
    // Commit once the previous reveal window has passed, and not in the epoch's last block
    // (the boundary runs Yuma; a commit there would count for nothing).
    if (pos >= reveal_window && pos + 1 < tempo) commit(epoch);
  }

  bool journal_has(const char* list, uint64_t epoch) {
    std::lock_guard l(journal_mu);
    const njson& a = journal->data()[list];
    return a.is_array() && std::find(a.begin(), a.end(), epoch) != a.end();
  }
  void journal_add(const char* list, uint64_t epoch) {
    std::lock_guard l(journal_mu);
    journal->data()[list].push_back(epoch);
    (void)journal->save();
  }

  void commit(uint64_t epoch) {
    if (journal_has("committed", epoch)) return;
    // A secret saved before a crash is committed as it is (a new one could not be saved).
    auto secret = wallet::load_weights_secret(secrets_dir, account, epoch);
    // The tallies these weights count, when read here (not for a secret saved before a crash).
    std::optional<std::map<uint16_t, MinerTally>> counted;
    if (!secret) {
      std::map<uint16_t, MinerTally> tallies;
      {
        std::lock_guard l(journal_mu);
        for (const auto& [uid, t] : journal->data()["tallies"].items()) tallies[static_cast<uint16_t>(std::stoul(uid))] = tally_from_json(t);
      }
      auto weights = weights_from_tallies(tallies);
      counted = std::move(tallies);
      if (weights.empty()) return;  // nothing verified yet: nothing to say
      auto salt = wallet::random_salt();
      if (!salt) return spdlog::error("verifier {}: {}", short_addr(), salt.error().message);
      wallet::WeightsSecret s{account, epoch, weights, *salt};
      // Saved before the commit leaves: a restart between the two must still be able to reveal.
      if (auto st = wallet::save_weights_secret(secrets_dir, s); !st)
        return spdlog::error("verifier {}: cannot save the weight secret: {}", short_addr(), st.error().message);
      secret = s;
    }
    auto sent = sender->send(wallet::commit_payload(*secret));
    if (!sent) {
      spdlog::warn("verifier {}: commit for epoch {} failed: {}", short_addr(), epoch, sent.error().message);
      if (sent.error().message.find("duplicate") != std::string::npos) journal_add("committed", epoch);
      return;
    }
    {
      // One write: the commit is recorded and a new window starts together, so a crash cannot
      // count this window's tallies again in the next epoch's weights. The new window keeps
      // what the check thread tallied since the tallies were read (while the commit was signed
      // and sent): those are in no commit yet.
      std::lock_guard l(journal_mu);
      journal->data()["committed"].push_back(epoch);
      njson& tallies = journal->data()["tallies"];
      if (!counted) {
        tallies = njson::object();
      } else {
        for (const auto& [uid, was] : *counted) {
          const std::string key = std::to_string(uid);
          if (!tallies.contains(key)) continue;
          MinerTally t = tally_from_json(tallies[key]);
          t.verified -= std::min(t.verified, was.verified);
          t.rejected -= std::min(t.rejected, was.rejected);
          t.missed -= std::min(t.missed, was.missed);
          t.latency_blocks -= std::min(t.latency_blocks, was.latency_blocks);
          if (t == MinerTally{}) tallies.erase(key);
          else tallies[key] = tally_to_json(t);
        }
      }
      (void)journal->save();
    }
    std::lock_guard l(stats_mu);
    ++stats.commits;
    spdlog::info("verifier {}: committed weights for epoch {} over {} miner(s)", short_addr(), epoch, secret->weights.size());
  }

  void reveal(uint64_t epoch) {
    if (journal_has("revealed", epoch)) return;
    auto secret = wallet::load_weights_secret(secrets_dir, account, epoch);
    if (!secret) return;  // nothing committed that epoch
    auto sent = sender->send(wallet::reveal_payload(*secret));
    if (!sent) {
      spdlog::warn("verifier {}: reveal for epoch {} failed: {}", short_addr(), epoch, sent.error().message);
      return;
    }
    journal_add("revealed", epoch);
    std::lock_guard l(stats_mu);
    ++stats.reveals;
    spdlog::info("verifier {}: revealed weights of epoch {}", short_addr(), epoch);
  }

  // --- the event loop -------------------------------------------------------------------
  Status load_params(NodeLink& link) {
    IG_TRY_ASSIGN(p, link.call("contracts_params", njson::array()));
    IG_TRY_ASSIGN(t, json_uint(p, "tempo", "contracts_params"));
    IG_TRY_ASSIGN(w, json_uint(p, "reveal_window_blocks", "contracts_params"));
    if (t < 2) return fail("rpc.bad_reply", "contracts_params: tempo below 2");
    tempo = t;
    reveal_window = w;
    return {};
  }

  void run_events() {
    NodeLink link(opt.node_url, &stopping);
    Status st = link.subscribe("events", njson{{"type", "task_result"}});
    if (st) st = link.subscribe("events", njson{{"type", "verdict"}});
    if (st) st = link.subscribe("events", njson{{"type", "task_timeout"}});
    if (st) st = link.subscribe("newHeads");
    if (st) st = load_params(link);
    if (st) st = catch_up(link);
    if (!st) return set_fatal(st.error());
    while (!stopping) {
      auto in = link.next(500ms);
      if (!in) {
        if (!stopping) set_fatal(in.error());
        return;
      }
      if (in->kind == Incoming::Reconnected) {
        spdlog::info("verifier {}: reconnected; catching up", short_addr());
        (void)load_params(link);
        if (auto c = catch_up(link); !c) spdlog::warn("verifier {}: catch-up failed: {}", short_addr(), c.error().message);
        continue;
      }
      if (in->kind != Incoming::Notification) continue;
      const njson& r = in->result;
      if (in->topic == "newHeads") {
        if (auto h = json_uint(r, "height", "newHeads")) on_head(*h);
        continue;
      }
      const std::string type = r.value("type", "");
      const njson attrs = r.value("attributes", njson::object());
      auto id = json_uint(attrs, "task", type.c_str());
      if (!id) continue;
      if (type == "task_result") {
        auto height = json_uint(r, "height", "event");
        if (height) on_result_seen(link, *id, *height, r.value("tx_hash", ""));
      } else if (type == "verdict") {
        // Another validator rejected it: check it now, whatever the sample said.
        if (attrs.value("accept", "true") == "false" && attrs.value("validator", "") != address && !judged(*id)) {
          spdlog::info("verifier {}: task {} was rejected by {}; re-checking with priority", short_addr(), *id,
                       attrs.value("validator", "?").substr(0, 12));
          enqueue(Check{*id, ""}, true);
        }
      } else if (type == "task_timeout") {
        const std::string miner = attrs.value("miner", "");
        if (!miner.empty()) tally(miner, [](MinerTally& t) { ++t.missed; });
      }
    }
  }
};

VerifierWorker::VerifierWorker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VerifierWorker::~VerifierWorker() { stop(); }

Expected<std::unique_ptr<VerifierWorker>> VerifierWorker::create(VerifierOptions options) {
  if (options.model_paths.empty()) return fail("verifier.no_model", "a verifier needs at least one model file (--model)");
  if (options.state_dir.empty()) return fail("verifier.config", "a verifier needs a state directory");
  if (!options.key) return fail("verifier.config", "a verifier needs the validator's account key");
  if (options.sample_ppm == 0 || options.sample_ppm > 1'000'000)
    return fail("verifier.config", "the sample rate must be within (0, 1]");
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->account = impl->opt.key->public_key();
  impl->address = chain::address_to_string(impl->account);
  return std::unique_ptr<VerifierWorker>(new VerifierWorker(std::move(impl)));
}

Status VerifierWorker::start() {
  Impl& d = *impl_;
  ::mkdir(d.opt.state_dir.c_str(), 0700);
  d.secrets_dir = d.opt.state_dir + "/secrets";
  ::mkdir(d.secrets_dir.c_str(), 0700);
  IG_TRY_ASSIGN(lock, DirLock::acquire(d.opt.state_dir, "infergrid verifier " + d.address));
  d.lock = std::move(lock);
  IG_TRY_ASSIGN(journal, Journal::open(d.opt.state_dir + "/verifier-journal.json"));
  d.journal = std::move(journal);
  for (const char* key : {"judged", "tallies"})
    if (!d.journal->data().contains(key)) d.journal->data()[key] = njson::object();
  for (const char* key : {"committed", "revealed"})
    if (!d.journal->data().contains(key)) d.journal->data()[key] = njson::array();
  IG_TRY_ASSIGN(catalog, ModelCatalog::load(d.opt.model_paths));
  d.catalog = std::move(catalog);
  d.sender = std::make_unique<TxSender>(d.opt.node_url, *d.opt.key, &d.stopping);
  IG_TRY_ASSIGN(validators, d.sender->call("staking_validators", njson::array()));
  bool active = false;
  if (validators.is_array())
    for (const auto& v : validators)
      if (v.is_object() && v.value("account", "") == d.address && v.value("active", false)) active = true;
  if (!active)
    return fail("verifier.not_validator", d.address + " backs no active validator: a verifier signs with the validator's account");
  spdlog::info("verifier {}: checking {}‰ of results for {} model(s), node {}", d.short_addr(), d.opt.sample_ppm / 1000,
               d.catalog.ids_hex().size(), d.opt.node_url);
  d.events_thread = std::thread([&d] { d.run_events(); });
  d.check_thread = std::thread([&d] { d.run_checks(); });
  return {};
}

void VerifierWorker::stop() {
  Impl& d = *impl_;
  {
    std::lock_guard l(d.mu);
    d.stopping = true;
  }
  d.cv.notify_all();
  d.done_cv.notify_all();
  if (d.events_thread.joinable()) d.events_thread.join();
  if (d.check_thread.joinable()) d.check_thread.join();
}

Status VerifierWorker::wait() {
  Impl& d = *impl_;
  std::unique_lock l(d.mu);
  d.done_cv.wait(l, [&] { return d.stopping.load(); });
  if (d.fatal) return fail(*d.fatal);
  return {};
}

VerifierStats VerifierWorker::stats() const {
  std::lock_guard l(impl_->stats_mu);
  return impl_->stats;
}

}  // namespace ig::workers
