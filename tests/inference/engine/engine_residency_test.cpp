// Device residency (kernels/residency.hpp, Backend::bind/copy/to_host) without a GPU: a simulated
// device keeps the graph's bound buffers in memory of its own and runs every op there with the
// CPU backend, poisoning the host copy (NaN) of whatever an op writes. The engine must give the
// CPU backend's logits bit for bit through it (so the graph never reads a bound buffer behind
// the backend's back), and a decode step must move nothing but its logits row between host and
// "device" (so activations and the KV cache stay where the ops run). The CUDA backend uses the
// same Residency over device memory.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "inference/engine/engine.hpp"
#include "inference/gguf/random_model.hpp"
#include "kernels/residency.hpp"
#include "tests/inference/engine/logits_helpers.hpp"
#include "tests/inference/engine/model_files.hpp"

namespace ig::engine {
namespace {

namespace fs = std::filesystem;

// "Device" memory in host vectors, counted by Residency.
struct HostMemory {
  struct Buffer {
    std::vector<float> v;
  };
  bool alloc(Buffer& b, size_t n) {
    b.v.assign(n, NAN);  // what a fresh device buffer holds is nobody's business
    return true;
  }
  float* data(const Buffer& b) { return const_cast<float*>(b.v.data()); }
  bool upload(float* dev, const float* host, size_t n) {
    std::memcpy(dev, host, n * sizeof(float));
    return true;
  }
  bool download(float* host, const float* dev, size_t n) {
    std::memcpy(host, dev, n * sizeof(float));
    return true;
  }
};

class SimulatedDevice final : public kernels::Backend {
 public:
  SimulatedDevice() : inner_(std::move(*kernels::make_backend({kernels::BackendKind::Cpu, 2}))) {}
  kernels::BackendKind kind() const override { return inner_->kind(); }
  std::string description() const override { return "simulated device over " + inner_->description(); }
  std::string numerics() const override { return inner_->numerics(); }

  void matmul(const kernels::Weight& w, const float* x, int n_tokens, float* y) override {
    const float* dx = in(x, size_t(n_tokens) * size_t(w.cols));
    inner_->matmul(w, dx, n_tokens, out(y, size_t(n_tokens) * size_t(w.rows)));
  }
  void get_rows(const kernels::Weight& w, const int32_t* ids, int n, float* o) override {
    inner_->get_rows(w, ids, n, out(o, size_t(n) * size_t(w.cols)));
  }
  void rmsnorm(const float* x, const float* weight, int n_tokens, int dim, float eps, float* o) override {
    const float* dx = in(x, size_t(n_tokens) * dim);
    inner_->rmsnorm(dx, in(weight, size_t(dim)), n_tokens, dim, eps, out(o, size_t(n_tokens) * dim));
  }
  void rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
            const kernels::RopeParams& p) override {
    inner_->rope(out(x, size_t(n_tokens) * n_heads * head_dim), n_tokens, n_heads, head_dim, positions, p);
  }
  void attention(const float* q, const float* k, const float* v, int n_tokens, const int32_t* positions,
                 const kernels::AttentionShape& s, float* o) override {
    const size_t nq = size_t(n_tokens) * s.n_heads * s.head_dim;
    const size_t nkv = size_t(positions[n_tokens - 1] + 1) * s.n_kv_heads * s.head_dim;
    const float *dq = in(q, nq), *dk = in(k, nkv), *dv = in(v, nkv);
    inner_->attention(dq, dk, dv, n_tokens, positions, s, out(o, nq));
  }
  void swiglu(const float* gate, const float* up, size_t n, float* o) override {
    const float *dg = in(gate, n), *du = in(up, n);
    inner_->swiglu(dg, du, n, out(o, n));
  }
  void add_bias(float* x, const float* bias, int n_tokens, int dim) override {
    inner_->add_bias(out(x, size_t(n_tokens) * dim), in(bias, size_t(dim)), n_tokens, dim);
  }
  void add(float* x, const float* y, size_t n) override {
    const float* dy = in(y, n);
    inner_->add(out(x, n), dy, n);
  }

  std::shared_ptr<void> bind(float* p, size_t n) override { return res_.bind(p, n); }
  void copy(const float* src, float* dst, size_t n) override {
    if (!res_.bound(dst, n)) {
      res_.to_host(src, n);
      std::memcpy(dst, src, n * sizeof(float));
      return;
    }
    const float* s = in(src, n);
    std::memcpy(out(dst, n), s, n * sizeof(float));
  }
  void to_host(const float* p, size_t n) override { res_.to_host(p, n); }

  size_t uploaded() const { return res_.uploaded(); }
  size_t downloaded() const { return res_.downloaded(); }
  size_t writes_to_bound() const { return bound_writes_; }

 private:
  const float* in(const float* p, size_t n) { return res_.bound(p, n) ? res_.read(p, n) : p; }
  // The device copy the op writes; the host's copy of that range is poisoned meanwhile.
  float* out(float* p, size_t n) {
    if (!res_.bound(p, n)) return p;
    float* d = res_.write(p, n);
    std::fill(p, p + n, NAN);
    ++bound_writes_;
    return d;
  }

  std::unique_ptr<kernels::Backend> inner_;
  HostMemory mem_;
  kernels::Residency<HostMemory> res_{mem_};
  size_t bound_writes_ = 0;
};

// The registry alone: ranges inside a binding only, uploads once, downloads the range asked
// for, a second binding of the same buffer takes over (its contents first brought to the host)
// and outlives the first one's handle, and a handle may outlive the registry.
TEST(Residency, BindingsRangesAndHandles) {
  std::vector<float> buf(100, 1.0f);
  HostMemory mem;
  auto r = std::make_unique<kernels::Residency<HostMemory>>(mem);
  auto h1 = r->bind(buf.data(), 100);
  ASSERT_TRUE(h1);
  EXPECT_TRUE(r->bound(buf.data() + 10, 5));
  EXPECT_FALSE(r->bound(buf.data() + 95, 10));  // runs past the buffer
  float* d = r->write(buf.data(), 100);
  EXPECT_EQ(r->uploaded(), size_t(100));
  d[3] = 7.0f;
  EXPECT_EQ(buf[3], 1.0f);  // the host copy is stale until asked for
  ASSERT_TRUE(r->to_host(buf.data() + 2, 2));
  EXPECT_EQ(buf[3], 7.0f);
  EXPECT_EQ(r->downloaded(), size_t(2));
  d[50] = 9.0f;
  auto h2 = r->bind(buf.data(), 100);  // bound again: the device's contents come home first
  EXPECT_EQ(buf[50], 9.0f);
  h1.reset();
  EXPECT_TRUE(r->bound(buf.data(), 100)) << "the first handle unbound the second binding";
  h2.reset();
  EXPECT_FALSE(r->bound(buf.data(), 100));
  auto h3 = r->bind(buf.data(), 100);
  r.reset();
  h3.reset();  // after the registry: nothing to do, nothing to crash
}

Model load(const char* arch, gguf::TensorType type) {
  static const fs::path dir = testing::test_dir("ig_engine_residency_test");
  return testing::open_model(testing::write_once(testing::small_model(arch, type, true, 78),
                                                 dir / (std::string(arch) + "_" + std::to_string(uint32_t(type)) + ".gguf")));
}

// Prefill (across the 64-token pass boundary), token by token, and a verifier's logits from an
// index: bitwise the CPU backend's, with every op having written into a bound buffer.
TEST(EngineResidency, SimulatedDeviceGivesTheCpuLogitsBitwise) {
  for (auto [arch, type] : {std::pair{"qwen2", gguf::TensorType::Q8_0}, std::pair{"llama", gguf::TensorType::Q4_0},
                            std::pair{"qwen3", gguf::TensorType::F16}}) {
    SCOPED_TRACE(arch);
    const Model m = load(arch, type);
    const auto t = testing::random_tokens(70, 9, 512);
    auto cpu = std::move(*kernels::make_backend({kernels::BackendKind::Cpu, 2}));
    SimulatedDevice dev;
    const auto want = testing::prefill(m, *cpu, t);
    const auto got = testing::prefill(m, dev, t);
    const auto steps = testing::stepwise(m, dev, t);
    ASSERT_EQ(want.size(), got.size());
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4)) << "prefill";
    ASSERT_EQ(want.size(), steps.size());
    EXPECT_EQ(0, std::memcmp(want.data(), steps.data(), want.size() * 4)) << "token by token";
    EXPECT_GT(dev.writes_to_bound(), size_t(1000));  // the ops really wrote the device copies
    auto s = Session::create(m, dev, 70);
    ASSERT_TRUE(s);
    std::vector<float> tail;
    ASSERT_TRUE(s->eval_from(t, 63, [&](int, std::span<const float> l) { tail.insert(tail.end(), l.begin(), l.end()); }));
    ASSERT_EQ(tail.size(), size_t(7 * 512));
    EXPECT_EQ(0, std::memcmp(tail.data(), want.data() + 63 * 512, tail.size() * 4)) << "logits from an index";
  }
}

// Once a session has run, a decode step moves only its logits row to the host and nothing up:
// the activations and the KV cache stay on the "device".
TEST(EngineResidency, ADecodeStepMovesOnlyItsLogits) {
  const Model m = load("qwen2", gguf::TensorType::Q8_0);
  SimulatedDevice dev;
  auto s = Session::create(m, dev, 64);
  ASSERT_TRUE(s);
  const auto prompt = testing::random_tokens(8, 10, 512);
  ASSERT_TRUE(s->eval(prompt, Logits::Last, [](int, std::span<const float>) {}));
  const size_t up = dev.uploaded(), down = dev.downloaded();
  EXPECT_GT(up, size_t(0));  // the first pass brought the bound buffers' (empty) contents up once
  for (int32_t tok : {5, 17, 300, 2, 99}) {
    std::vector<float> last;
    ASSERT_TRUE(s->eval(std::span<const int32_t>(&tok, 1), Logits::Last,
                        [&](int, std::span<const float> l) { last.assign(l.begin(), l.end()); }));
    ASSERT_EQ(last.size(), size_t(512));
    for (float v : last) ASSERT_FALSE(std::isnan(v));
  }
  EXPECT_EQ(dev.uploaded(), up) << "a decode step uploaded a bound buffer";
  EXPECT_EQ(dev.downloaded() - down, size_t(5 * 512)) << "only the logits rows come down";
}

// A KV cache held on one backend's device is refused by another backend, and its bindings end
// with it (a new cache at the same address starts afresh).
TEST(EngineResidency, ACacheHeldOnADeviceStaysWithItsBackend) {
  const Model m = load("qwen2", gguf::TensorType::Q8_0);
  SimulatedDevice a, b;
  Forward fa(m, a), fb(m, b);
  auto kv = KvCache::create(m.config(), 16);
  ASSERT_TRUE(kv);
  const int32_t tok = 3;
  Piece p{&*kv, std::span<const int32_t>(&tok, 1), 0};
  ASSERT_TRUE(fa.eval(std::span<const Piece>(&p, 1), [](int, int, std::span<const float>) {}));
  EXPECT_EQ(kv->backend, &a);
  auto st = fb.eval(std::span<const Piece>(&p, 1), [](int, int, std::span<const float>) {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "engine.bad_input");
}

}  // namespace
}  // namespace ig::engine
