// End-to-end inference benchmarks, one JSON object per line:
//   prefill / decode tokens per second with 1 and 2 threads for stories260K and
//   a Qwen2.5-0.5B-shaped random model (dim 896, 24 layers, 14 heads, 2 KV
//   heads, FFN 4864, tied embeddings) in F16, Q8_0 and Q4_0, written into a
//   temp dir at start; and verification time as a fraction of generation time
//   for tasks of up to 128 output tokens (run_task / verify, as a miner and a
//   verifier run them; an output may end earlier on EOS); and the aggregate decode speed of 4
//   sequences decoded together against one (batch.hpp).
// Each line carries wall seconds and process CPU seconds: on a shared machine
// the difference is time spent waiting for a core.
//
//   bench_engine [--quick] [--vocab N] [--types f16,q8_0,q4_0] [--threads 1,2]
//
// llama-bench mode (any GGUF file, the same flags, so a run beside llama-bench on the same file
// is one command each):
//   bench_engine -m FILE[,FILE..] [-p N[,N..]] [-n N[,N..]] [-t T[,T..]] [-r REPS]
//                [--parallel S[,S..]] [--verify N] [--no-warmup] [--backend cpu|reference|cuda]
//                [--variant avx512-amx|avx512|avxvnni|avx2|scalar] [--layout rows]
// --layout rows keeps Q4_0/Q8_0 matrices in GGUF row order instead of regrouping them for this
// CPU's kernels (engine::ModelOptions), to measure what the regrouping gives; every -m line says
// which it ran with ("layout":"interleaved16" or "rows").
// -p 512 -n 128 -t <hardware threads> -r 5 by default, as llama-bench. For every (file, threads)
// it warms up (one prefill and a few decode steps, untimed), then runs the repetitions, each a
// prefill of N random tokens into an empty context (pp N) and the generation of N tokens one
// at a time from an empty context (tg N), alternating. One JSON line per (file, phase, N,
// threads):
//   {"bench":"engine","model":"qwen05-q4_0.gguf","type":"Q4_0","layout":"interleaved16","phase":"prefill","n":512,
//    "threads":2,"reps":5,"tokens_per_second_median":..,"tokens_per_second_min":..,
//    "tokens_per_second_max":..,"cpu_seconds_per_token_median":..,"backend":"cpu (avx512..)"}
// --verify N: also the verification cost, as a miner and a validator pay it: run_task generates
// N tokens (greedy, then sampled: temperature 0.8, top-k 40, seed 7; an output ends earlier on
// an end-of-generation id), then verify() checks the result with one teacher-forced prefill.
// One line per sampling mode: "phase":"verify", "sampling", "tokens" (the output's length),
// generate_seconds_median, verify_seconds_median and fraction_median (verify / generate, per
// repetition), "accepted" (every repetition's verdict). The tokenizer is built once, outside
// the timing, as a worker keeps it.
// --parallel S (as llama-batched-bench's -npl): the decode test runs S sequences at once in
// one BatchGenerator (batch.hpp, the miner's path: greedy choice included), each generating
// N tokens from a 1-token prompt, and tokens_per_second is the aggregate S*N / wall; the line
// carries "sequences":S. Without it, "sequences":1 and the plain Session loop above.
//   bench_engine --bandwidth [-t T,..]: the machine's streaming read speed, the bound decode is
// measured against: T threads each read its share of a 1 GiB buffer (64-bit loads the
// compiler vectorizes), best of 5. {"bench":"bandwidth","threads":T,"gb_per_s":..}
// cpu_seconds_per_token: process CPU time per token; on a shared machine wall time also counts
// the time spent waiting for a core, CPU time does not.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <span>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench/inference/engine/bandwidth.hpp"
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

std::pair<double, double> run_batch(const engine::Model& m, kernels::Backend& be, int n, int sequences,
                                    uint32_t seed);

// Aggregate decode tokens/s of 4 sequences decoded together against 1 (the miner's
// BatchGenerator path, greedy).
void bench_batch(const std::string& name, const engine::Model& m, kernels::Backend& be, int threads, int n) {
  const double one = double(n) / run_batch(m, be, n, 1, 11).first;
  const double four = 4.0 * n / run_batch(m, be, n, 4, 12).first;
  std::printf("{\"bench\":\"batch_decode\",\"model\":\"%s\",\"threads\":%d,\"tokens_per_sequence\":%d,"
              "\"tokens_per_s_1\":%.2f,\"tokens_per_s_4\":%.2f,\"aggregate_ratio\":%.3f}\n",
              name.c_str(), threads, n, one, four, four / one);
  std::fflush(stdout);
}

void run_model(const std::string& name, const engine::Model& m, const Options& o) {
  for (int threads : o.threads) {
    auto be = kernels::make_backend({kernels::BackendKind::Cpu, threads});
    if (!be) return;
    bench_prefill(name, m, **be, threads, o.quick ? 32 : 128);
    bench_decode(name, m, **be, threads, o.quick ? 16 : 64);
    bench_verify(name, m, **be, threads, 128);
    bench_batch(name, m, **be, threads, o.quick ? 8 : 32);
  }
}

// ---- llama-bench mode ----

struct BenchOptions {
  std::vector<std::string> models;
  std::vector<int> prompt = {512};
  std::vector<int> gen = {128};
  std::vector<int> threads;
  std::vector<int> parallel;  // empty: single-sequence decode only
  int verify = 0;             // output tokens of the verification-cost test; 0: none
  int reps = 5;
  bool warmup = true;
  kernels::BackendKind kind = kernels::BackendKind::Cpu;
  std::string variant;
  engine::ModelOptions layout;
};

std::vector<int> int_list(const std::string& s) {
  std::vector<int> out;
  for (const auto& item : split(s)) {
    if (item.empty()) continue;
    out.push_back(std::stoi(item));
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The model's quantization as llama.cpp names it (general.file_type, llama_ftype: the K-quant
// mixes hold several types), else the matrix type holding most of the layers' weight bytes.
// "interleaved16" when the model's Q4_0/Q8_0 matrices were regrouped at load, else "rows".
std::string model_layout(const engine::Model& m) {
  for (const auto& l : m.layers())
    if (l.w_down.layout == kernels::Layout::Interleaved16 || l.wq.layout == kernels::Layout::Interleaved16)
      return "interleaved16";
  return m.output().layout == kernels::Layout::Interleaved16 ? "interleaved16" : "rows";
}

std::string model_type(const engine::Model& m) {
  auto ft = m.file().get_uint_or("general.file_type", ~0ull);
  if (ft) {
    switch (*ft) {
      case 0: return "F32";
      case 1: return "F16";
      case 2: return "Q4_0";
      case 7: return "Q8_0";
      case 14: return "Q4_K_S";
      case 15: return "Q4_K_M";
      case 16: return "Q5_K_S";
      case 17: return "Q5_K_M";
      case 18: return "Q6_K";
      default: break;
    }
  }
  std::vector<std::pair<std::string, double>> bytes;
  for (const auto& l : m.layers())
    for (const kernels::Weight* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      const std::string name = kernels::dtype_name(w->type);
      const double b = double(kernels::row_bytes(w->type, w->cols)) * double(w->rows);
      auto it = std::find_if(bytes.begin(), bytes.end(), [&](const auto& e) { return e.first == name; });
      if (it == bytes.end()) bytes.emplace_back(name, b); else it->second += b;
    }
  if (bytes.empty()) return "?";
  return std::max_element(bytes.begin(), bytes.end(),
                          [](const auto& a, const auto& b) { return a.second < b.second; })->first;
}

// One prefill of n tokens into an empty context: (wall seconds, cpu seconds).
std::pair<double, double> run_prefill(const engine::Model& m, kernels::Backend& be, int n, uint32_t seed) {
  const auto ids = random_ids(n, m.config().vocab, seed);
  auto s = engine::Session::create(m, be, std::min(n, m.config().context));
  if (!s) throw std::runtime_error(s.error().to_string());
  Timer t;
  auto st = s->eval(ids, engine::Logits::Last, [](int, std::span<const float>) {});
  const double wall = t.wall(), cpu = t.cpu();
  if (!st) throw std::runtime_error(st.error().to_string());
  return {wall, cpu};
}

// n tokens evaluated one at a time from an empty context, logits for each.
std::pair<double, double> run_decode(const engine::Model& m, kernels::Backend& be, int n, uint32_t seed) {
  const auto ids = random_ids(n, m.config().vocab, seed);
  auto s = engine::Session::create(m, be, std::min(n, m.config().context));
  if (!s) throw std::runtime_error(s.error().to_string());
  Timer t;
  for (int i = 0; i < n; ++i) {
    auto st = s->eval(std::span<const int32_t>(&ids[size_t(i)], 1), engine::Logits::Last,
                      [](int, std::span<const float>) {});
    if (!st) throw std::runtime_error(st.error().to_string());
  }
  return {t.wall(), t.cpu()};
}

// `sequences` sequences generating n tokens each, decoded together (BatchGenerator); the
// first token of each comes from its 1-token prompt's pass.
std::pair<double, double> run_batch(const engine::Model& m, kernels::Backend& be, int n, int sequences,
                                    uint32_t seed) {
  auto batch = engine::BatchGenerator::create(m, be, sequences);
  if (!batch) throw std::runtime_error(batch.error().to_string());
  ig::SamplingParams p;
  p.max_tokens = uint32_t(n);
  for (int i = 0; i < sequences; ++i) {
    auto id = batch->add({random_ids(1, m.config().vocab, seed + uint32_t(i)), p, {}});
    if (!id) throw std::runtime_error(id.error().to_string());
  }
  Timer t;
  size_t generated = 0;
  while (batch->active() > 0)
    for (auto& f : batch->step()) {
      if (!f.result) throw std::runtime_error(f.result.error().to_string());
      generated += f.result->tokens.size();
    }
  const double wall = t.wall(), cpu = t.cpu();
  if (generated != size_t(n) * size_t(sequences)) throw std::runtime_error("batch: a sequence stopped early");
  return {wall, cpu};
}

void print_phase(const std::string& file, const std::string& type, const std::string& layout, const std::string& desc,
                 const char* phase, int n, int threads, const std::vector<double>& wall,
                 const std::vector<double>& cpu, int sequences = 1) {
  std::vector<double> tps;
  for (double w : wall) tps.push_back(double(n) * sequences / w);
  std::vector<double> cpt;
  for (double c : cpu) cpt.push_back(c / (double(n) * sequences));
  std::string samples;
  for (double v : tps) samples += (samples.empty() ? "" : ",") + std::to_string(v);
  std::printf("{\"bench\":\"engine\",\"model\":\"%s\",\"type\":\"%s\",\"layout\":\"%s\",\"phase\":\"%s\",\"n\":%d,"
              "\"sequences\":%d,\"threads\":%d,\"reps\":%zu,\"tokens_per_second_median\":%.3f,"
              "\"tokens_per_second_min\":%.3f,\"tokens_per_second_max\":%.3f,"
              "\"cpu_seconds_per_token_median\":%.6f,\"samples\":[%s],\"backend\":\"%s\"}\n",
              file.c_str(), type.c_str(), layout.c_str(), phase, n, sequences, threads, tps.size(), median(tps),
              *std::min_element(tps.begin(), tps.end()), *std::max_element(tps.begin(), tps.end()),
              median(cpt), samples.c_str(), desc.c_str());
  std::fflush(stdout);
}

// One generation and its verification: (generate wall s, verify wall s, output tokens, accepted).
struct VerifyRun {
  double generate = 0, verify = 0;
  size_t tokens = 0;
  bool accepted = false;
};
VerifyRun run_verify(const engine::Model& m, const tok::Tokenizer& tk, const ig::Hash32& id, kernels::Backend& be,
                     int n, bool sampled) {
  ig::SamplingParams p;
  p.max_tokens = uint32_t(n);
  if (sampled) {
    p.temperature_milli = 800;
    p.top_k = 40;
    p.seed = 7;
  }
  const std::string prompt = "Once upon a time there was a little robot who wanted to see the sea.";
  Timer tg;
  auto r = receipt::run_task(m, tk, id, be, prompt, p);
  const double gen = tg.wall();
  if (!r) throw std::runtime_error(r.error().to_string());
  Timer tv;
  auto v = receipt::verify(m, tk, id, be, *r, receipt::mode_for(r->receipt, be));
  const double ver = tv.wall();
  if (!v) throw std::runtime_error(v.error().to_string());
  return {gen, ver, r->output.size(), v->accepted};
}

void bench_verification(const std::string& file, const std::string& type, const std::string& layout,
                        const std::string& desc,
                        const engine::Model& m, kernels::Backend& be, int threads, int n, int reps) {
  auto tk = receipt::model_tokenizer(m);
  if (!tk) throw std::runtime_error(tk.error().to_string());
  const auto id = receipt::model_id(m.file());
  for (bool sampled : {false, true}) {
    std::vector<double> gen, ver, frac;
    size_t tokens = 0;
    bool all_accepted = true;
    for (int r = 0; r < reps; ++r) {
      const VerifyRun v = run_verify(m, *tk, id, be, n, sampled);
      gen.push_back(v.generate);
      ver.push_back(v.verify);
      frac.push_back(v.verify / v.generate);
      tokens = v.tokens;
      all_accepted = all_accepted && v.accepted;
    }
    std::printf("{\"bench\":\"engine\",\"model\":\"%s\",\"type\":\"%s\",\"layout\":\"%s\",\"phase\":\"verify\",\"n\":%d,"
                "\"sampling\":\"%s\",\"tokens\":%zu,\"threads\":%d,\"reps\":%d,\"generate_seconds_median\":%.4f,"
                "\"verify_seconds_median\":%.4f,\"fraction_median\":%.4f,\"accepted\":%s,\"backend\":\"%s\"}\n",
                file.c_str(), type.c_str(), layout.c_str(), n, sampled ? "sampled" : "greedy", tokens, threads, reps, median(gen),
                median(ver), median(frac), all_accepted ? "true" : "false", desc.c_str());
    std::fflush(stdout);
  }
}

int bench_files(const BenchOptions& o) {
  for (const auto& path : o.models) {
    auto m = engine::Model::open(path, o.layout);
    if (!m) { std::fprintf(stderr, "%s: %s\n", path.c_str(), m.error().to_string().c_str()); return 1; }
    const std::string file = fs::path(path).filename().string();
    const std::string type = model_type(*m);
    const std::string layout = model_layout(*m);
    for (int threads : o.threads) {
      kernels::BackendOptions bo{o.kind, threads};
      bo.cpu_variant = o.variant;
      auto be = kernels::make_backend(bo);
      if (!be) { std::fprintf(stderr, "%s\n", be.error().to_string().c_str()); return 1; }
      const std::string desc = (*be)->description();
      if (o.warmup) {
        if (!o.prompt.empty()) run_prefill(*m, **be, std::min(o.prompt.front(), 64), 99);
        run_decode(*m, **be, 4, 98);
      }
      // every repetition runs each test once, so slow spells of a shared machine fall on all
      const size_t tests = o.prompt.size() + o.gen.size() * std::max<size_t>(1, o.parallel.size());
      std::vector<std::vector<double>> wall(tests), cpu(tests);
      for (int r = 0; r < o.reps; ++r) {
        size_t k = 0;
        for (int n : o.prompt) {
          auto [w, c] = run_prefill(*m, **be, n, 3 + uint32_t(r));
          wall[k].push_back(w); cpu[k++].push_back(c);
        }
        for (int n : o.gen) {
          if (o.parallel.empty()) {
            auto [w, c] = run_decode(*m, **be, n, 5 + uint32_t(r));
            wall[k].push_back(w); cpu[k++].push_back(c);
          }
          for (int seqs : o.parallel) {
            auto [w, c] = run_batch(*m, **be, n, seqs, 5 + uint32_t(r) * 100);
            wall[k].push_back(w); cpu[k++].push_back(c);
          }
        }
      }
      size_t k = 0;
      for (int n : o.prompt) { print_phase(file, type, layout, desc, "prefill", n, threads, wall[k], cpu[k]); ++k; }
      for (int n : o.gen) {
        if (o.parallel.empty()) { print_phase(file, type, layout, desc, "decode", n, threads, wall[k], cpu[k]); ++k; }
        for (int seqs : o.parallel) { print_phase(file, type, layout, desc, "decode", n, threads, wall[k], cpu[k], seqs); ++k; }
      }
      if (o.verify > 0) bench_verification(file, type, layout, desc, *m, **be, threads, o.verify, o.reps);
    }
  }
  return 0;
}

int bench_main(int argc, char** argv) {
  BenchOptions o;
  o.threads = {int(std::max(1u, std::thread::hardware_concurrency()))};
  auto usage = [] {
    std::fprintf(stderr, "usage: bench_engine -m FILE[,FILE..] [-p N,..] [-n N,..] [-t T,..] [-r REPS] "
                         "[--parallel S,..] [--verify N] [--no-warmup] [--backend cpu|reference|cuda] [--variant avx512-amx|avx512|avxvnni|avx2|scalar] [--layout rows]\n");
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if ((a == "-m" || a == "--model") && has) for (auto& f : split(argv[++i])) o.models.push_back(f);
    else if ((a == "-p" || a == "--n-prompt") && has) o.prompt = int_list(argv[++i]);
    else if ((a == "-n" || a == "--n-gen") && has) o.gen = int_list(argv[++i]);
    else if ((a == "-t" || a == "--threads") && has) o.threads = int_list(argv[++i]);
    else if ((a == "-r" || a == "--repetitions") && has) o.reps = std::stoi(argv[++i]);
    else if ((a == "--parallel" || a == "-npl") && has) o.parallel = int_list(argv[++i]);
    else if (a == "--verify" && has) o.verify = std::stoi(argv[++i]);
    else if (a == "--no-warmup") o.warmup = false;
    else if (a == "--backend" && has) {
      auto k = kernels::parse_backend_kind(argv[++i]);
      if (!k) return usage();
      o.kind = *k;
    } else if (a == "--variant" && has) o.variant = argv[++i];
    else if (a == "--layout" && has) {
      const std::string v = argv[++i];
      if (v != "rows") {
        std::fprintf(stderr, "bench_engine: --layout takes only 'rows' (the default regroups Q4_0/Q8_0 where the CPU reads it), not '%s'\n", v.c_str());
        return 2;
      }
      o.layout.interleave = false;
    } else return usage();
  }
  std::erase_if(o.prompt, [](int n) { return n <= 0; });
  std::erase_if(o.gen, [](int n) { return n <= 0; });
  if (std::any_of(o.parallel.begin(), o.parallel.end(), [](int s) { return s < 1 || s > engine::Forward::kChunk; }))
    return usage();
  if (o.models.empty() || o.threads.empty() || o.reps < 1 || o.verify < 0 ||
      (o.prompt.empty() && o.gen.empty() && o.verify == 0))
    return usage();
  try {
    return bench_files(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_engine: %s\n", e.what());
    return 1;
  }
}

}  // namespace

// The three forms: any GGUF file (-m), the machine's read speed (--bandwidth), the fixed suite.
void print_usage(std::FILE* to) {
  std::fprintf(to,
               "usage: bench_engine -m FILE[,FILE..] [-p N,..] [-n N,..] [-t T,..] [-r REPS] [--parallel S,..]\n"
               "                    [--verify N] [--no-warmup] [--backend cpu|reference|cuda]\n"
               "                    [--variant avx512-amx|avx512|avxvnni|avx2|scalar] [--layout rows]\n"
               "       bench_engine --bandwidth [-t T,..]\n"
               "       bench_engine [--quick] [--vocab N] [--types f16,q8_0,q4_0] [--threads 1,2]\n");
}

int run_main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "-h" || std::string(argv[i]) == "--help") {
      print_usage(stdout);  // asked for: the answer, on stdout
      return 0;
    }
  if (argc >= 2 && std::string(argv[1]) == "--bandwidth") {
    std::vector<int> threads = {1, 2};
    if (argc == 4 && (std::string(argv[2]) == "-t" || std::string(argv[2]) == "--threads")) threads = int_list(argv[3]);
    if ((argc != 2 && argc != 4) || threads.empty() || std::any_of(threads.begin(), threads.end(), [](int t) { return t < 1 || t > 256; })) {
      std::fprintf(stderr, "usage: bench_engine --bandwidth [-t T,..]\n");
      return 2;
    }
    return ig::bench::bench_bandwidth(threads);
  }
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "-m" || std::string(argv[i]) == "--model") return bench_main(argc, argv);
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

// Arguments are parsed with std::stoi/stoul: a malformed number ends here, as a usage error.
int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_engine: %s (a malformed argument?)\n", e.what());
    return 2;
  }
}
