// Matmul throughput of the CPU backends per tensor type, one JSON object per line:
//   {"bench":"matmul","backend":"cpu","type":"Q4_0","rows":4864,"cols":896,
//    "tokens":1,"threads":1,"ms":..,"gflops":..,"weight_gbps":..}
// Shapes are the Qwen2.5-0.5B FFN (896 -> 4864) and its down projection; the K-quants (Q4_K,
// Q5_K, Q6_K) on the down projection, Q5_0/Q5_1 on the FFN shape.
//
// bench_kernels --pool [--reps N]: the thread pool on a shared machine. A decode-like sequence
// (per "layer" the Q4_0 896->4864 matmul, a 4864->896 one and an rmsnorm, 24 layers) with 1 and
// 2 threads, alone and beside 1 busy thread of another kind (a spinning std::thread standing in
// for another process on a 2-core machine), the four cases interleaved REPS times:
//   {"bench":"pool","busy_threads":1,"threads":2,"ms_median":..,"ms_min":..,"cpu_ms_median":..}
//
// bench_kernels --elementwise: SwiGLU over a 64-token Qwen2.5-0.5B FFN (64 x 4864 values), one
// thread, on the scalar table (std::exp per value) and the CPU's best (vectorized expf, bitwise
// the same):
//   {"bench":"swiglu","backend":"cpu (avx512+vnni+amx, 1 threads)","values":311296,"ns_per_value_median":..}
#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "inference/gguf/quant.hpp"
#include "kernels/kernels.hpp"

using namespace ig;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<uint8_t> make_weight(kernels::DType t, int64_t rows, int64_t cols) {
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.f, 0.05f);
  std::vector<float> row(static_cast<size_t>(cols));
  const size_t rb = kernels::row_bytes(t, cols);
  std::vector<uint8_t> out(rb * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = d(rng);
    (void)gguf::quantize_row(gguf::TensorType(uint32_t(t)), row.data(), out.data() + size_t(r) * rb, cols);
  }
  return out;
}

// Process CPU time: on a shared machine wall time includes time spent waiting
// for a core, so both are reported.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

void bench(kernels::BackendKind kind, kernels::DType t, int64_t rows, int64_t cols, int tokens,
           int threads) {
  auto be = kernels::make_backend({kind, threads});
  if (!be) return;
  auto bytes = make_weight(t, rows, cols);
  kernels::Weight w{t, bytes.data(), rows, cols};
  std::vector<float> x(size_t(cols) * tokens, 0.01f), y(size_t(rows) * tokens);
  (*be)->matmul(w, x.data(), tokens, y.data());  // warm up
  int iters = 0;
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  double secs = 0;
  while (secs < 0.5) {
    (*be)->matmul(w, x.data(), tokens, y.data());
    ++iters;
    secs = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  const double per = secs / iters;
  const double cpu_per = (cpu_seconds() - c0) / iters;
  std::printf(
      "{\"bench\":\"matmul\",\"backend\":\"%s\",\"type\":\"%s\",\"rows\":%lld,\"cols\":%lld,"
      "\"tokens\":%d,\"threads\":%d,\"ms\":%.4f,\"gflops\":%.2f,\"weight_gbps\":%.2f,\"cpu_ms\":%.4f}\n",
      kernels::backend_kind_name(kind), kernels::dtype_name(t), (long long)rows, (long long)cols,
      tokens, threads, per * 1e3, 2.0 * rows * cols * tokens / per / 1e9,
      double(bytes.size()) / per / 1e9, cpu_per * 1e3);
  std::fflush(stdout);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

int bench_pool(int reps) {
  auto up_bytes = make_weight(kernels::DType::Q4_0, 4864, 896);
  auto down_bytes = make_weight(kernels::DType::Q4_0, 896, 4864);
  const kernels::Weight up{kernels::DType::Q4_0, up_bytes.data(), 4864, 896};
  const kernels::Weight down{kernels::DType::Q4_0, down_bytes.data(), 896, 4864};
  std::vector<float> x(4864, 0.01f), h(4864), norm(896, 1.0f), y(896);
  std::unique_ptr<kernels::Backend> be[3];
  for (int t : {1, 2}) be[t] = std::move(*kernels::make_backend({kernels::BackendKind::Cpu, t}));
  auto step = [&](kernels::Backend& b) {
    for (int l = 0; l < 24; ++l) {
      b.rmsnorm(x.data(), norm.data(), 1, 896, 1e-6f, y.data());
      b.matmul(up, y.data(), 1, h.data());
      b.matmul(down, h.data(), 1, y.data());
    }
  };
  for (int t : {1, 2}) step(*be[t]);  // warm up
  std::vector<double> ms[2][3], cpu_ms[2][3];
  for (int r = 0; r < reps; ++r)
    for (int busy : {0, 1})
      for (int t : {1, 2}) {
        std::atomic<bool> stop{false};
        std::thread spinner;
        if (busy) spinner = std::thread([&] { while (!stop.load(std::memory_order_relaxed)) {} });
        const double c0 = cpu_seconds();
        const auto t0 = Clock::now();
        for (int i = 0; i < 4; ++i) step(*be[t]);
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count() / 4;
        const double cpu = (cpu_seconds() - c0) / 4;  // includes the spinner's time when busy
        stop = true;
        if (spinner.joinable()) spinner.join();
        ms[busy][t].push_back(secs * 1e3);
        cpu_ms[busy][t].push_back(cpu * 1e3);
      }
  for (int busy : {0, 1})
    for (int t : {1, 2})
      std::printf("{\"bench\":\"pool\",\"busy_threads\":%d,\"threads\":%d,\"reps\":%d,\"ms_median\":%.3f,"
                  "\"ms_min\":%.3f,\"process_cpu_ms_median\":%.3f}\n",
                  busy, t, reps, median(ms[busy][t]), *std::min_element(ms[busy][t].begin(), ms[busy][t].end()),
                  median(cpu_ms[busy][t]));
  return 0;
}

int bench_elementwise() {
  const size_t n = 64 * 4864;
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 2.f);
  std::vector<float> g(n), u(n), out(n);
  for (size_t i = 0; i < n; ++i) g[i] = d(rng), u[i] = d(rng);
  for (const char* variant : {"scalar", ""}) {
    auto be = kernels::make_backend({kernels::BackendKind::Cpu, 1, variant});
    if (!be) continue;
    (*be)->swiglu(g.data(), u.data(), n, out.data());  // warm up
    std::vector<double> ns;
    for (int r = 0; r < 9; ++r) {
      const auto t0 = Clock::now();
      (*be)->swiglu(g.data(), u.data(), n, out.data());
      ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / double(n));
    }
    std::printf("{\"bench\":\"swiglu\",\"backend\":\"%s\",\"values\":%zu,\"ns_per_value_median\":%.3f}\n",
                (*be)->description().c_str(), n, median(ns));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--elementwise") return bench_elementwise();
  if (argc > 1 && std::string(argv[1]) == "--pool") {
    int reps = 7;
    if (argc == 4 && std::string(argv[2]) == "--reps") {
      char* end = nullptr;
      const long v = std::strtol(argv[3], &end, 10);
      if (*argv[3] == '\0' || *end != '\0' || v < 1 || v > 1000) {
        std::fprintf(stderr, "bench_kernels: --reps takes 1..1000\n");
        return 2;
      }
      reps = int(v);
    } else if (argc != 2) {
      std::fprintf(stderr, "usage: bench_kernels --pool [--reps N]\n");
      return 2;
    }
    return bench_pool(reps);
  }
  // --prefill: the 64-token matmuls of a Qwen2.5-0.5B prefill, one thread (kernel tuning)
  if (argc == 2 && std::string(argv[1]) == "--prefill") {
    for (auto t : {kernels::DType::F16, kernels::DType::Q8_0, kernels::DType::Q4_0}) {
      bench(kernels::BackendKind::Cpu, t, 4864, 896, 64, 1);
      bench(kernels::BackendKind::Cpu, t, 896, 4864, 64, 1);
    }
    return 0;
  }
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (argc > 2 || (argc == 2 && !quick)) {
    std::fprintf(stderr, "usage: bench_kernels [--quick | --prefill | --elementwise | --pool [--reps N]]\n");
    return 2;
  }
  for (auto t : {kernels::DType::F32, kernels::DType::F16, kernels::DType::Q8_0, kernels::DType::Q4_0})
    for (int threads : {1, 2})
      for (int tokens : {1, 32}) {
        bench(kernels::BackendKind::Cpu, t, 4864, 896, tokens, threads);
        if (!quick) bench(kernels::BackendKind::Cpu, t, 896, 4864, tokens, threads);
      }
  // The K-quants need rows of whole 256-value super-blocks: the down projection (4864 = 19 x 256
  // columns); Q5_0/Q5_1, their fallback for the 896-column rows, on the FFN shape.
  for (auto t : {kernels::DType::Q4_K, kernels::DType::Q5_K, kernels::DType::Q6_K})
    for (int threads : {1, 2})
      for (int tokens : {1, 32}) bench(kernels::BackendKind::Cpu, t, 896, 4864, tokens, threads);
  for (auto t : {kernels::DType::Q5_0, kernels::DType::Q5_1})
    for (int threads : {1, 2})
      for (int tokens : {1, 32}) bench(kernels::BackendKind::Cpu, t, 4864, 896, tokens, threads);
  if (!quick) bench(kernels::BackendKind::Reference, kernels::DType::Q4_0, 4864, 896, 1, 1);
  return 0;
}
