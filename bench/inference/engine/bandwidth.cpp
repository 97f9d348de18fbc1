#include "bench/inference/engine/bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <thread>

namespace ig::bench {
namespace {

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Four independent chains of vector loads, so the loop is bound by memory, not by the loads'
// latency: 32-byte loads where the CPU has AVX2 (what the kernels use), else 16-byte ones.
typedef uint64_t v2u64 __attribute__((vector_size(16)));
typedef uint64_t v4u64 __attribute__((vector_size(32)));
template <typename Vec>
uint64_t read_vectors(const uint64_t* p, size_t n) {
  constexpr size_t kWords = sizeof(Vec) / 8;
  Vec a = {}, b = {}, c = {}, d = {};
  const Vec* v = reinterpret_cast<const Vec*>(p);
  for (size_t i = 0; i + 4 <= n / kWords; i += 4) {
    a ^= v[i];
    b ^= v[i + 1];
    c ^= v[i + 2];
    d ^= v[i + 3];
  }
  const Vec r = a ^ b ^ c ^ d;
  uint64_t x = 0;
  for (size_t k = 0; k < kWords; ++k) x ^= r[k];
  return x;
}
__attribute__((target("avx2"))) uint64_t read_avx2(const uint64_t* p, size_t n) { return read_vectors<v4u64>(p, n); }
uint64_t read_range(const uint64_t* p, size_t n) {
  return __builtin_cpu_supports("avx2") ? read_avx2(p, n) : read_vectors<v2u64>(p, n);
}

}  // namespace

int bench_bandwidth(const std::vector<int>& threads) {
  const size_t words = (size_t(1) << 30) / sizeof(uint64_t);
  std::unique_ptr<uint64_t[], decltype(&std::free)> mem(
      static_cast<uint64_t*>(std::aligned_alloc(64, words * sizeof(uint64_t))), &std::free);
  if (!mem) return 1;
  std::span<uint64_t> buf(mem.get(), words);
  for (size_t i = 0; i < words; ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;  // touch every page
  for (int t : threads) {
    double best = 0;
    uint64_t sink = 0;
    for (int rep = 0; rep < 5; ++rep) {
      std::vector<uint64_t> out(static_cast<size_t>(t));
      std::vector<std::thread> pool;
      const double start = wall_seconds();
      const size_t share = words / size_t(t) / 8 * 8;
      for (int i = 0; i < t; ++i)
        pool.emplace_back([&, i] { out[size_t(i)] = read_range(buf.data() + share * size_t(i), share); });
      for (auto& th : pool) th.join();
      best = std::max(best, double(share * size_t(t) * 8) / (wall_seconds() - start) / 1e9);
      for (uint64_t v : out) sink ^= v;
    }
    std::printf("{\"bench\":\"bandwidth\",\"threads\":%d,\"gb_per_s\":%.2f,\"checksum\":%llu}\n", t, best,
                static_cast<unsigned long long>(sink & 0xff));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace ig::bench
