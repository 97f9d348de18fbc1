#include "node/worker_cli.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <thread>

#include "chain/address.hpp"
#include "node/config.hpp"
#include "node/gateway_cli.hpp"
#include "rpc/server.hpp"
#include "workers/metrics.hpp"
#include "wallet/password.hpp"
#include "wallet/wallet_dir.hpp"

namespace ig::node {
namespace {

Expected<workers::CheatOptions> cheat_options(const WorkerArgs& a) {
  workers::CheatOptions c;
  if (a.cheat.empty()) return c;
  if (a.cheat != "token" && a.cheat != "model") return fail("arg.cheat", "--cheat must be token or model");
  if (!(a.cheat_rate > 0 && a.cheat_rate <= 1)) return fail("arg.cheat", "--cheat-rate must be within (0, 1]");
  if (a.cheat == "model" && a.cheat_model.empty()) return fail("arg.cheat", "--cheat model needs --cheat-model FILE");
  c.kind = a.cheat;
  c.rate_milli = static_cast<uint32_t>(std::lround(a.cheat_rate * 1000));
  c.model_path = a.cheat_model;
  c.seed = a.cheat_seed;
  return c;
}

Expected<kernels::BackendKind> backend_kind(const WorkerArgs& a) { return kernels::parse_backend_kind(a.backend); }

Expected<chain::SecretKey> unlock(const std::string& wallet_dir, const std::string& account, std::string_view password) {
  IG_TRY_ASSIGN(w, wallet::Wallet::open(wallet_dir));
  IG_TRY_ASSIGN(entry, w.find(account));
  return w.unlock(entry, password);
}

Expected<std::unique_ptr<workers::MinerWorker>> make_miner(const std::string& url, chain::SecretKey key,
                                                           const std::vector<std::string>& models,
                                                           const std::string& state_dir, const WorkerArgs& a) {
  workers::MinerOptions o;
  o.node_url = url;
  o.key = std::move(key);
  o.model_paths = models;
  o.state_dir = state_dir;
  IG_TRY_ASSIGN(kind, backend_kind(a));
  o.backend = kind;
  o.threads = a.threads;
  o.max_concurrent = a.max_concurrent;
  IG_TRY_ASSIGN(cheat, cheat_options(a));
  o.cheat = cheat;
  return workers::MinerWorker::create(std::move(o));
}

Expected<std::unique_ptr<workers::VerifierWorker>> make_verifier(const std::string& url, chain::SecretKey key,
                                                                 const std::vector<std::string>& models,
                                                                 const std::string& state_dir, const WorkerArgs& a) {
  workers::VerifierOptions o;
  o.node_url = url;
  o.key = std::move(key);
  o.model_paths = models;
  o.state_dir = state_dir;
  IG_TRY_ASSIGN(kind, backend_kind(a));
  o.backend = kind;
  o.threads = a.threads;
  if (!(a.sample_rate > 0 && a.sample_rate <= 1)) return fail("arg.sample_rate", "--sample-rate must be within (0, 1]");
  o.sample_ppm = static_cast<uint32_t>(std::lround(a.sample_rate * 1'000'000));
  return workers::VerifierWorker::create(std::move(o));
}

}  // namespace

void add_worker_tuning(CLI::App* cmd, WorkerArgs& a) {
  cmd->add_option("--backend", a.backend, "reference, cpu or cuda")->capture_default_str();
  cmd->add_option("--threads", a.threads, "CPU threads (miner: shared by its concurrent tasks, decoded together; verifier: per check)")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--max-concurrent", a.max_concurrent, "miner: tasks at once (default: the declared max_concurrent)")
      ->check(CLI::Range(1u, 1024u));
  cmd->add_option("--sample-rate", a.sample_rate, "verifier: share of results to check, (0, 1]")->capture_default_str();
  auto* g = cmd->add_option_group("TEST/DEMO ONLY", "make a miner cheat, to show cheating caught (never on a real network)");
  g->add_option("--cheat", a.cheat, "token (alter one token) or model (answer with --cheat-model)");
  g->add_option("--cheat-rate", a.cheat_rate, "share of tasks to cheat on, (0, 1]");
  g->add_option("--cheat-model", a.cheat_model, "substitute GGUF for --cheat model")->check(CLI::ExistingFile);
  g->add_option("--cheat-seed", a.cheat_seed, "which tasks and steps are cheated on");
}

void add_worker_command(CLI::App& app, WorkerCommand& w, CLI::App** out) {
  auto* cmd = app.add_subcommand("worker", "run a miner or verifier worker against any node (docs/workers.md)");
  cmd->add_option("--role", w.role, "miner or verifier")->required()->check(CLI::IsMember({"miner", "verifier"}));
  cmd->add_option("--node", w.node, "node JSON-RPC URL (ws://HOST:PORT)")->capture_default_str();
  cmd->add_option("--account", w.account, "key name or address in --wallet-dir (a verifier uses its validator's account)")
      ->required();
  cmd->add_option("--wallet-dir", w.wallet_dir, "wallet directory holding the account's keystore (default ~/.infergrid/wallet)");
  cmd->add_option("--model", w.args.models, "GGUF model file (repeatable)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--state-dir", w.state_dir, "journal and lock (default ~/.infergrid/worker-ROLE)");
  cmd->add_option("--password-file", w.password_file, "file holding the keystore password (else INFERGRID_PASSWORD)");
  cmd->add_option("--log-level", w.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cmd->add_option("--metrics-listen", w.metrics_listen, "serve GET /metrics (Prometheus) on HOST:PORT or PORT");
  add_worker_tuning(cmd, w.args);
  *out = cmd;
}

Status run_worker(const WorkerCommand& w) {
  spdlog::set_level(spdlog::level::from_str(w.log_level));
  wallet::PasswordRequest req;
  req.file = w.password_file;
  req.allow_prompt = false;
  IG_TRY_ASSIGN(password, wallet::obtain_password(req));
  const std::string wallet_dir = w.wallet_dir.empty() ? wallet::default_wallet_dir() : w.wallet_dir;
  IG_TRY_ASSIGN(key, unlock(wallet_dir, w.account, password.view()));
  const char* home = std::getenv("HOME");
  const std::string state_dir =
      !w.state_dir.empty() ? w.state_dir : std::string(home ? home : ".") + "/.infergrid/worker-" + w.role;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<workers::MinerWorker> miner;
  std::unique_ptr<workers::VerifierWorker> verifier;
  if (w.role == "miner") {
    IG_TRY_ASSIGN(m, make_miner(w.node, key, w.args.models, state_dir, w.args));
    miner = std::move(m);
    IG_TRY(miner->start());
  } else {
    IG_TRY_ASSIGN(v, make_verifier(w.node, key, w.args.models, state_dir, w.args));
    verifier = std::move(v);
    IG_TRY(verifier->start());
  }
  // GET /metrics on a port of its own (an rpc::Server with no methods and no topics: the HTTP
  // side with its limits, the browser rules and the health answer).
  std::unique_ptr<rpc::Server> metrics;
  if (!w.metrics_listen.empty()) {
    IG_TRY_ASSIGN(listen, parse_listen(w.metrics_listen));
    rpc::ServerConfig mc;
    mc.host = listen.first;
    mc.port = listen.second;
    mc.topics = {};
    metrics = std::make_unique<rpc::Server>(mc);
    const std::string account = chain::address_to_string(key.public_key());
    IG_TRY(metrics->add_get("/metrics", [&miner, &verifier, account](const rpc::HttpGet&) {
      rpc::MetricsText text;
      if (miner) workers::render_miner_metrics(text, miner->stats(), account);
      if (verifier) workers::render_verifier_metrics(text, verifier->stats(), account);
      return rpc::HttpReply{200, rpc::MetricsText::kContentType, text.text(), {}};
    }));
    IG_TRY(metrics->start());
    spdlog::info("worker metrics on http://{}:{}/metrics", listen.first, metrics->port());
  }
  // A signal, or the worker failing for good, ends the process.
  std::thread waiter([&] {
    Status st = miner ? miner->wait() : verifier->wait();
    if (!st) spdlog::error("worker stopped: {}", st.error().message);
    ::kill(::getpid(), SIGTERM);
  });
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("worker stopping");
  if (metrics) metrics->stop();
  if (miner) miner->stop();
  if (verifier) verifier->stop();
  waiter.join();
  Status st = miner ? miner->wait() : verifier->wait();
  if (!st && st.error().code != "link.stopped") return st;
  return {};
}

void AttachedWorkers::stop() {
  if (miner) miner->stop();
  if (verifier) verifier->stop();
}

Expected<AttachedWorkers> attach_workers(const std::string& home, uint16_t port, const AttachArgs& a,
                                         std::string_view password) {
  AttachedWorkers out;
  const std::string url = "ws://127.0.0.1:" + std::to_string(port);
  HomePaths paths{home};
  if (!a.verifier_models.empty()) {
    IG_TRY_ASSIGN(key, unlock(paths.wallet_dir(), a.verifier_account, password));
    IG_TRY_ASSIGN(v, make_verifier(url, key, a.verifier_models, home + "/workers/verifier", a.args));
    out.verifier = std::move(v);
  }
  if (!a.miner_models.empty()) {
    IG_TRY_ASSIGN(key, unlock(paths.wallet_dir(), a.miner_account, password));
    IG_TRY_ASSIGN(m, make_miner(url, key, a.miner_models, home + "/workers/miner", a.args));
    out.miner = std::move(m);
  }
  if (out.verifier || out.miner) ::mkdir((home + "/workers").c_str(), 0700);
  if (out.verifier) IG_TRY(out.verifier->start());
  if (out.miner) IG_TRY(out.miner->start());
  return out;
}

}  // namespace ig::node
