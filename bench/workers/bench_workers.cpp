// bench_workers: what the workers of the closed loop achieve (docs/workers.md "Benchmark").
// One JSON object per line:
//
//   miner_tokens_per_second     run_task on stories260K as the miner worker runs it (CPU
//                               backend, 1 thread: the worker's default --threads), greedy and
//                               sampled (the devnet's temperature 0.8, top-k 40, top-p 0.95);
//                               median over --runs tasks of up to --max-tokens tokens each
//   verify_share_of_generation  receipt::verify in exact mode (the verifier worker's one
//                               teacher-forced prefill) of those same results, as a share of the
//                               time it took to generate them; median over the results
//   devnet_tasks_per_minute     `infergridd devnet --tasks N --summary FILE` (the infergridd
//                               next to this program) on a free port: the summary's
//                               timing.tasks_per_minute, tasks_final_seconds and task counts
//
// Each timing line carries wall and thread-CPU seconds: on a shared machine the difference is
// time spent waiting for a core.
//
//   bench_workers [--model FILE] [--runs N] [--max-tokens N] [--devnet-tasks N] [--no-devnet]
//                 [--infergridd PATH]
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference/receipt/result.hpp"
#include "inference/receipt/verifier.hpp"
#include "kernels/kernels.hpp"
#include "workers/model_catalog.hpp"

extern char** environ;

namespace {

using namespace ig;
using json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The devnet's prompts: the register of the TinyStories model.
const char* const kPrompts[] = {"Once upon a time", "The little dog ran", "Lily wanted to", "One day, a boy named Tom",
                                "The sun was shining and", "A big red ball", "The cat and the bird", "Mom said"};

struct Options {
  std::string model = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";
  int runs = 9;
  uint32_t max_tokens = 128;
  unsigned devnet_tasks = 24;
  bool devnet = true;
  std::string infergridd;  // default: next to this program
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_workers: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(Expected<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().to_string());
  return std::move(*r);
}

void print(const json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --- (a) and (b): a miner's generation and a verifier's check, in process ----------------
struct Measured {
  receipt::TaskResult result;
  double gen_wall = 0, gen_cpu = 0;
  double ver_wall = 0, ver_cpu = 0;
};

void bench_engine_side(const Options& opt) {
  auto catalog = must(workers::ModelCatalog::load({opt.model}), "loading the model");
  const workers::CatalogModel& m = *catalog.find(catalog.ids_hex().front());
  auto backend = must(kernels::make_backend(kernels::BackendOptions{kernels::BackendKind::Cpu, 1}), "backend");

  for (const bool sampled : {false, true}) {
    std::vector<Measured> runs;
    for (int i = 0; i < opt.runs; ++i) {
      SamplingParams p;
      p.max_tokens = opt.max_tokens;
      if (sampled) {
        p.temperature_milli = 800;
        p.top_k = 40;
        p.top_p_milli = 950;
        p.seed = 1000 + static_cast<uint64_t>(i);
      }
      const char* prompt = kPrompts[static_cast<size_t>(i) % std::size(kPrompts)];
      Measured r;
      auto t0 = Clock::now();
      double c0 = thread_cpu_seconds();
      r.result = must(receipt::run_task(*m.model, *m.tokenizer, m.id, *backend, prompt, p), "run_task");
      r.gen_cpu = thread_cpu_seconds() - c0;
      r.gen_wall = std::chrono::duration<double>(Clock::now() - t0).count();
      t0 = Clock::now();
      c0 = thread_cpu_seconds();
      auto v = must(receipt::verify(*m.model, *m.tokenizer, m.id, *backend, r.result, receipt::Mode::Exact), "verify");
      r.ver_cpu = thread_cpu_seconds() - c0;
      r.ver_wall = std::chrono::duration<double>(Clock::now() - t0).count();
      if (!v.accepted) die(std::string("an honest result was rejected: ") + v.code + " " + v.reason);
      runs.push_back(std::move(r));
    }
    std::vector<double> tps, tps_cpu, tokens, share, share_cpu, ver_wall;
    for (const auto& r : runs) {
      const double n = double(r.result.output.size());
      tokens.push_back(n);
      tps.push_back(n / r.gen_wall);
      tps_cpu.push_back(n / r.gen_cpu);
      share.push_back(r.ver_wall / r.gen_wall);
      share_cpu.push_back(r.ver_cpu / r.gen_cpu);
      ver_wall.push_back(r.ver_wall);
    }
    const char* params = sampled ? "sampled" : "greedy";
    print({{"bench", "miner_tokens_per_second"}, {"params", params}, {"model", fs::path(opt.model).stem().string()},
           {"backend", receipt::backend_tag(*backend)}, {"threads", 1}, {"runs", opt.runs}, {"max_tokens", opt.max_tokens},
           {"output_tokens_median", median(tokens)}, {"tokens_per_second_median", median(tps)},
           {"tokens_per_cpu_second_median", median(tps_cpu)}});
    print({{"bench", "verify_share_of_generation"}, {"params", params}, {"mode", "exact"}, {"runs", opt.runs},
           {"output_tokens_median", median(tokens)}, {"verify_seconds_median", median(ver_wall)},
           {"share_median", median(share)}, {"cpu_share_median", median(share_cpu)}});
  }
}

// --- (c): the whole loop, as `infergridd devnet` runs it ----------------------------------
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die("cannot find a free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string self_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

void bench_devnet(const Options& opt) {
  const std::string infergridd = opt.infergridd.empty() ? self_dir() + "/infergridd" : opt.infergridd;
  if (!fs::exists(infergridd)) die(infergridd + " not found (build infergridd, or give --infergridd PATH, or --no-devnet)");
  std::string tmpl = (fs::temp_directory_path() / "bench-workers-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) die("mkdtemp failed");
  const std::string dir = tmpl, home = dir + "/net", summary = dir + "/summary.json", log = dir + "/devnet.log";

  std::vector<std::string> argv = {infergridd, "devnet", "--home", home, "--model", opt.model, "--port",
                                   std::to_string(free_port()), "--summary", summary, "--tasks",
                                   std::to_string(opt.devnet_tasks)};
  // The devnet's keys need a password; a throwaway one unless the caller set one.
  std::vector<std::string> env;
  bool have_password = false;
  for (char** e = environ; *e; ++e) {
    env.emplace_back(*e);
    if (std::string_view(*e).rfind("INFERGRID_PASSWORD=", 0) == 0) have_password = true;
  }
  if (!have_password) env.emplace_back("INFERGRID_PASSWORD=bench-workers-devnet");
  auto cstr = [](std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
  };
  auto cargv = cstr(argv), cenv = cstr(env);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const auto t0 = Clock::now();
  const int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) die("cannot spawn " + infergridd);

  // Bounded: a devnet that hangs is killed (SIGTERM first, so that it stops its children).
  int status = 0;
  bool exited = false;
  while (Clock::now() - t0 < std::chrono::minutes(15)) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!exited) {
    ::kill(pid, SIGTERM);
    std::this_thread::sleep_for(std::chrono::seconds(5));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    die("the devnet did not finish in 15 minutes; its log: " + log);
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("the devnet failed; its log: " + log);

  std::ifstream in(summary);
  std::stringstream ss;
  ss << in.rdbuf();
  json s = json::parse(ss.str(), nullptr, false);
  if (s.is_discarded() || !s.contains("timing") || !s.contains("tasks")) die("unreadable summary " + summary);
  size_t settled = 0, rejected = 0, other = 0;
  for (const auto& t : s["tasks"]) {
    const std::string st = t.value("status", "");
    (st == "settled" ? settled : st == "rejected" ? rejected : other)++;
  }
  const double final_s = s["timing"].value("tasks_final_seconds", 0.0);
  print({{"bench", "devnet_tasks_per_minute"}, {"tasks", opt.devnet_tasks}, {"settled", settled}, {"rejected", rejected},
         {"other", other}, {"tasks_final_seconds", final_s},
         {"tasks_per_minute", s["timing"].value("tasks_per_minute", 0.0)},
         {"settled_per_minute", final_s > 0 ? double(settled) * 60 / final_s : 0.0},
         {"supply_ok", s.value("supply_ok", false)}, {"devnet_wall_seconds", wall}});
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](long lo, long hi) {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < lo || n > hi) die(a + " must be a number in " + std::to_string(lo) + ".." + std::to_string(hi));
      return n;
    };
    if (a == "--model") opt.model = value();
    else if (a == "--runs") opt.runs = static_cast<int>(number(1, 1000));
    else if (a == "--max-tokens") opt.max_tokens = static_cast<uint32_t>(number(1, 256));
    else if (a == "--devnet-tasks") opt.devnet_tasks = static_cast<unsigned>(number(1, 1000));
    else if (a == "--no-devnet") opt.devnet = false;
    else if (a == "--infergridd") opt.infergridd = value();
    else
      die("usage: bench_workers [--model FILE] [--runs N] [--max-tokens N] [--devnet-tasks N] [--no-devnet] "
          "[--infergridd PATH]");
  }
  bench_engine_side(opt);
  if (opt.devnet) bench_devnet(opt);
  return 0;
}
