// End-to-end inference benchmarks, one JSON object per line:
//   prefill / decode tokens per second with 1 and 2 threads for stories260K and
//   a Qwen2.5-0.5B-shaped random model (dim 896, 24 layers, 14 heads, 2 KV
//   heads, FFN 4864, tied embeddings) in F16, Q8_0 and Q4_0, written into a
//   temp dir at start; and verification time as a fraction of generation time
//   for tasks of up to 128 output tokens (run_task / verify, as a miner and a
//   verifier run them; an output may end earlier on EOS).
// Each line carries wall seconds and process CPU seconds: on a shared machine
// the difference is time spent waiting for a core.
//
//   bench_engine [--quick] [--vocab N] [--types f16,q8_0,q4_0] [--threads 1,2]
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "inference/engine/engine.hpp"
#include "inference/gguf/random_model.hpp"
#include "inference/receipt/ids.hpp"
#include "inference/receipt/result.hpp"
#include "inference/receipt/verifier.hpp"

using namespace ig;
namespace fs = std::filesystem;

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

struct Timer {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  double c0 = cpu_seconds();
  double wall() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
  double cpu() const { return cpu_seconds() - c0; }
};

struct Options {
  bool quick = false;
  uint32_t vocab = 151936;
  std::vector<std::string> types = {"f16", "q8_0", "q4_0"};
  std::vector<int> threads = {1, 2};
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

std::vector<int32_t> random_ids(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& x : ids) x = int32_t(rng() % uint32_t(vocab));
  ids[0] = 1;
  return ids;
}

void bench_prefill(const std::string& name, const engine::Model& m, kernels::Backend& be, int threads,
                   int n) {
  const auto ids = random_ids(n, m.config().vocab, 3);
  auto s = engine::Session::create(m, be, n);
  if (!s) return;
  Timer t;
  auto st = s->eval(ids, engine::Logits::Last, [](int, std::span<const float>) {});
  const double wall = t.wall(), cpu = t.cpu();
  if (!st) { std::fprintf(stderr, "prefill: %s\n", st.error().to_string().c_str()); return; }
  std::printf("{\"bench\":\"prefill\",\"model\":\"%s\",\"threads\":%d,\"tokens\":%d,\"seconds\":%.4f,"
              "\"cpu_seconds\":%.4f,\"tokens_per_s\":%.2f}\n",
              name.c_str(), threads, n, wall, cpu, n / wall);
  std::fflush(stdout);
}

void bench_decode(const std::string& name, const engine::Model& m, kernels::Backend& be, int threads,
                  uint32_t n) {
  ig::SamplingParams p;
  p.max_tokens = n;
  Timer t;
  auto g = engine::generate(m, be, random_ids(8, m.config().vocab, 4), p, -1);
  const double cpu = t.cpu();
  if (!g) { std::fprintf(stderr, "decode: %s\n", g.error().to_string().c_str()); return; }
  const double steps = double(g->tokens.size() - 1);  // the first token comes from the prefill
  std::printf("{\"bench\":\"decode\",\"model\":\"%s\",\"threads\":%d,\"tokens\":%d,\"seconds\":%.4f,"
              "\"cpu_seconds_total\":%.4f,\"tokens_per_s\":%.2f}\n",
              name.c_str(), threads, int(steps), g->decode_seconds, cpu, steps / g->decode_seconds);
  std::fflush(stdout);
}

void bench_verify(const std::string& name, const engine::Model& m, kernels::Backend& be, int threads,
                  uint32_t n) {
  ig::SamplingParams p;
  p.max_tokens = n;
  p.temperature_milli = 800;
  p.top_k = 40;
  p.seed = 7;
  const std::string prompt = "Once upon a time there was a little robot who wanted to see the sea.";
  const auto id = receipt::model_id(m.file());  // once per model in a worker: not timed
  Timer tg;
  auto r = receipt::run_task(m, id, be, prompt, p);
  const double gen_wall = tg.wall(), gen_cpu = tg.cpu();
  if (!r) { std::fprintf(stderr, "verify: %s\n", r.error().to_string().c_str()); return; }
  Timer tv;
  auto v = receipt::verify(m, id, be, *r, receipt::mode_for(r->receipt, be));
  const double ver_wall = tv.wall(), ver_cpu = tv.cpu();
  if (!v) { std::fprintf(stderr, "verify: %s\n", v.error().to_string().c_str()); return; }
  std::printf("{\"bench\":\"verify\",\"model\":\"%s\",\"threads\":%d,\"output_tokens\":%zu,"
              "\"generate_seconds\":%.4f,\"verify_seconds\":%.4f,\"fraction\":%.4f,"
              "\"generate_cpu_seconds\":%.4f,\"verify_cpu_seconds\":%.4f,\"cpu_fraction\":%.4f,"
              "\"accepted\":%s}\n",
              name.c_str(), threads, r->output.size(), gen_wall, ver_wall, ver_wall / gen_wall,
              gen_cpu, ver_cpu, ver_cpu / gen_cpu, v->accepted ? "true" : "false");
  std::fflush(stdout);
}

void run_model(const std::string& name, const engine::Model& m, const Options& o) {
  for (int threads : o.threads) {
    auto be = kernels::make_backend({kernels::BackendKind::Cpu, threads});
    if (!be) return;
    bench_prefill(name, m, **be, threads, o.quick ? 32 : 128);
    bench_decode(name, m, **be, threads, o.quick ? 16 : 64);
    bench_verify(name, m, **be, threads, 128);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") o.quick = true;
    else if (a == "--vocab" && i + 1 < argc) o.vocab = uint32_t(std::stoul(argv[++i]));
    else if (a == "--types" && i + 1 < argc) o.types = split(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) { o.threads.clear(); for (auto& t : split(argv[++i])) o.threads.push_back(std::stoi(t)); }
    else { std::fprintf(stderr, "usage: bench_engine [--quick] [--vocab N] [--types f16,q8_0,q4_0] [--threads 1,2]\n"); return 2; }
  }
  {
    auto m = engine::Model::open(std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf");
    if (!m) { std::fprintf(stderr, "%s\n", m.error().to_string().c_str()); return 1; }
    run_model("stories260K", *m, o);
  }
  const fs::path dir = fs::temp_directory_path() / ("ig_bench_engine_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& type : o.types) {
    auto tt = gguf::tensor_type_from_name(type);
    if (!tt) { std::fprintf(stderr, "unknown type %s\n", type.c_str()); continue; }
    gguf::RandomModelSpec spec;
    spec.arch = "qwen2";
    spec.dim = 896;
    spec.layers = 24;
    spec.heads = 14;
    spec.kv_heads = 2;
    spec.ffn = 4864;
    spec.vocab = o.vocab;
    spec.ctx = 4096;
    spec.type = *tt;
    spec.tied = true;
    spec.seed = 1;
    const std::string path = (dir / ("qwen05_" + type + ".gguf")).string();
    auto st = gguf::write_random_model(spec, path);
    if (!st) { std::fprintf(stderr, "%s\n", st.error().to_string().c_str()); continue; }
    {
      auto m = engine::Model::open(path);
      if (!m) { std::fprintf(stderr, "%s\n", m.error().to_string().c_str()); continue; }
      run_model("qwen2.5-0.5b-shape-" + type, *m, o);
    }
    fs::remove(path);
  }
  fs::remove_all(dir);
  return 0;
}
