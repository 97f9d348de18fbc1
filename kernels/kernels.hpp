// ig_kernels: the one compute-backend interface used by the model graphs.
//
// All buffers are host float arrays laid out token-major ([n_tokens][dim]).
// Weights are views of GGUF tensor data (memory-mapped, never copied on the
// CPU backends): `rows` output features, each a contiguous row of `cols` input
// features encoded in `type` (GGUF ne0 = cols, ne1 = rows).
//
// Batch invariance contract (every backend): each output element is reduced in
// one fixed order that depends only on the shapes of the operands, never on
// n_tokens or on the thread count. Work is split over output rows / tokens /
// heads, never inside a reduction. The model graph relies on this to make
// token-by-token generation and one-shot prefill produce bitwise-equal logits.
//
// Exactness across machines: the fast CPU backend's x86 variants (AVX2,
// AVX-VNNI, AVX-512) give bitwise the same results, so two AVX2-capable x86
// machines running the same build (and C library) agree bit for bit; the scalar fallback, the
// reference and the CUDA backend each differ in the last bits (tolerant mode).
//
// Numerics tags: every backend names the numerics it computes with a short tag, carried in an
// inference receipt (common/inference_receipt.hpp) so that a verifier demands bit-exact
// agreement only from a result computed with the same numerics as its own. A tag is
// "<family>/<revision>": two backends with equal tags produce bitwise-equal logits for the
// same model and tokens, whatever the thread count or batch split. The revision is bumped
// whenever any kernel of that family changes its reduction order or rounding (an older
// receipt then verifies in tolerant mode only, which is correct: its bits are no longer ours).
//   cpu/3         fast CPU backend, AVX2/FMA path (the AVX-VNNI, AVX-512 and AMX variants and
//                 any thread count give the same bits, so they share the tag)
//   cpu-scalar/2  fast CPU backend on a CPU without AVX2/FMA/F16C (sequential sums: other bits)
//   reference/1   the reference backend (double accumulation)
//   cuda/1        the CUDA backend (fixed-order warp reductions with explicit FMAs)
// What a tag cannot capture: the C library's sin/cos/pow (RoPE tables) must round alike on both
// machines; glibc's do on x86-64, and a deployment mixing C libraries should treat a mismatch
// as a bug to report, not a cheat. exp (SwiGLU, softmax) is no longer among them for cpu/3: its
// x86 variants compute glibc's expf themselves, vectorized (kernels/cpu/expf_x86.hpp).
//
// A Backend instance is used by one thread at a time (it owns scratch buffers
// and, on the CPU, a thread pool of its own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.hpp"

namespace ig::kernels {

// GGML type ids, so a GGUF tensor's type maps 1:1.
enum class DType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q4_K = 12, Q5_K = 13, Q6_K = 14
};
// The K-quants (super-blocks of 256, kernels/kquants.hpp).
inline bool dtype_is_kquant(DType t) { return t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K; }
// Q5_0/Q5_1 (32 values, kernels/q5_formats.hpp): the K-quant mixes' fallback for rows that are
// not whole super-blocks; on the CPU they run with the K-quant kernels (dot_kquants.hpp).
inline bool dtype_is_q5(DType t) { return t == DType::Q5_0 || t == DType::Q5_1; }

const char* dtype_name(DType t);
bool dtype_supported(uint32_t ggml_type);
// Bytes of one row of `cols` elements; cols must be a multiple of the block
// size (32; 256 for the K-quants) for quantized types — check with row_shape_valid first.
size_t row_bytes(DType t, int64_t cols);
bool row_shape_valid(DType t, int64_t cols);

// How a Weight's bytes are ordered. Every backend reads every layout (the result does not
// depend on it); a layout other than Rows exists for the speed of one kernel family.
enum class Layout : uint8_t {
  Rows,     // GGUF order: row r's blocks at data + r * row_bytes
  Interleaved16,  // Q4_0/Q8_0: each whole group of 16 rows as BlockQ4_0x16 / BlockQ8_0x16 units
                  // (formats.hpp), the rows past the last whole group in GGUF order after them
                  // (kernels/interleave.hpp)
};

struct Weight {
  DType type = DType::F32;
  const void* data = nullptr;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features (contiguous)
  Layout layout = Layout::Rows;
};

// theta_i = pos * freq_scale * freq_base^(-2i/rope_dim) / freq_factors[i], and the rotated
// pair is scaled by attn_factor: ggml's rope with ext_factor 0 (ggml_rope_cache_init /
// rope_yarn in ggml-cpu.c, c392e50), which is what llama.cpp runs for RoPE scaling types
// "none" and "linear". freq_factors (rope_dim/2 floats, e.g. Llama 3.1's rope_freqs tensor)
// may be null: all 1.
struct RopeParams {
  int rope_dim = 0;         // leading dims of each head that rotate
  float freq_base = 10000.f;
  bool neox = false;        // false: pairs (2i,2i+1); true: pairs (i, i+rope_dim/2)
  float freq_scale = 1.f;   // linear scaling: 1 / rope.scaling.factor
  float attn_factor = 1.f;  // rope.scaling.attn_factor
  const float* freq_factors = nullptr;
};

struct AttentionShape {
  int n_heads = 0;
  int n_kv_heads = 0;  // GQA: n_heads % n_kv_heads == 0
  int head_dim = 0;
};

enum class BackendKind { Reference, Cpu, Cuda };

// Numerics tags (see above). Bump a revision when a kernel of that family changes its
// reduction order or rounding.
// cpu/3: Q8_0/Q4_0 dots take each block's exact int32 dot, then one float step per block
// (kernels/cpu/dot.hpp), as AMX tiles compute them; cpu/2 accumulated 8 float lanes per block.
// cpu-scalar/2: the scalar Q8_0/Q4_0 kernels follow cpu/3 too (cpu-scalar/1 rounded the
// product before adding).
inline constexpr const char* kNumericsCpu = "cpu/3";
inline constexpr const char* kNumericsCpuScalar = "cpu-scalar/2";
inline constexpr const char* kNumericsReference = "reference/1";
inline constexpr const char* kNumericsCuda = "cuda/1";
const char* backend_kind_name(BackendKind k);
Expected<BackendKind> parse_backend_kind(const std::string& s);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const = 0;
  virtual std::string description() const = 0;
  virtual int threads() const { return 1; }
  // The numerics tag (see above), e.g. "cpu/3": the receipt's `backend` field.
  virtual std::string numerics() const = 0;
  // Sticky error of a backend whose ops can fail asynchronously (CUDA): the
  // first failure is kept, later ops are skipped, and callers check this after
  // a forward pass. CPU backends never fail once a Weight is valid.
  virtual Status status() const { return {}; }

  // y[t][r] = sum_c W[r][c] * x[t][c] for t < n_tokens.
  virtual void matmul(const Weight& w, const float* x, int n_tokens, float* y) = 0;
  // ys[i] = matmul(*ws[i], x) for i < count: several matrices reading one input (attention's Q,
  // K and V; the FFN's gate and up). Every ws[i]->cols is the same, cols; x is
  // [n_tokens][cols], ys[i] is [n_tokens][ws[i]->rows], and no ys[i] overlaps x or another.
  // Each ys[i] is bitwise what matmul gives. The CPU backend quantizes and packs x once per
  // activation form its matrices need (Q8_0 and its tile packings, Q8_K), not once per matrix;
  // the default calls matmul for each. Errors as matmul's (CUDA: status()). (Arrays, not spans:
  // the CUDA sources are C++17.)
  virtual void matmul_shared(const Weight* const* ws, int count, const float* x, int n_tokens, float* const* ys);
  // out[t][i] = row ids[t] of w, dequantized (embedding lookup).
  virtual void get_rows(const Weight& w, const int32_t* ids, int n, float* out) = 0;
  // out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight.
  virtual void rmsnorm(const float* x, const float* weight, int n_tokens, int dim, float eps,
                       float* out) = 0;
  // Rotates every head of x ([n_tokens][n_heads*head_dim]) in place by positions[t].
  virtual void rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
                    const RopeParams& p) = 0;
  // Causal GQA attention of q ([n_tokens][n_heads*head_dim]) at positions[t] over
  // cache rows 0..positions[t] of k/v ([ctx][n_kv_heads*head_dim]).
  virtual void attention(const float* q, const float* k_cache, const float* v_cache,
                         int n_tokens, const int32_t* positions, const AttentionShape& s,
                         float* out) = 0;
  // out[i] = silu(gate[i]) * up[i].
  virtual void swiglu(const float* gate, const float* up, size_t n, float* out) = 0;
  // x[t][i] += bias[i].
  virtual void add_bias(float* x, const float* bias, int n_tokens, int dim) = 0;
  // x[i] += y[i].
  virtual void add(float* x, const float* y, size_t n) = 0;

  // Device residency (kernels/residency.hpp). The graph binds the float buffers it keeps across
  // ops (its activations, each KV cache); a backend whose ops run in another memory (CUDA) then
  // keeps them there between ops. From the bind on, the graph reads a bound buffer only after
  // to_host and writes it only through the ops and copy; destroying the last copy of the handle
  // unbinds it (before the memory is freed). Unbound pointers (weights, norms, a test's arrays)
  // are host memory as always. The CPU and reference backends keep everything on the host: no
  // handle, copy is memcpy, to_host nothing.
  virtual std::shared_ptr<void> bind(float* /*p*/, size_t /*n*/) { return nullptr; }
  // dst[0..n) = src[0..n); either may be bound.
  virtual void copy(const float* src, float* dst, size_t n);
  // Makes host p[0..n) current: the host is about to read it.
  virtual void to_host(const float* /*p*/, size_t /*n*/) {}
};

struct BackendOptions {
  BackendKind kind = BackendKind::Cpu;
  int threads = 0;  // 0: hardware concurrency
  // The fast CPU backend's dot kernels: "" (the best this CPU runs), "scalar", "avx2",
  // "avxvnni", "avx512" or "avx512-amx". Only for comparing variants (the verification study, tests):
  // the AVX ones must give the same bits, "scalar" is the cpu-scalar/2 numerics.
  std::string cpu_variant = {};  // (an initializer, so that {kind, threads} still warns about nothing)
};

Expected<std::unique_ptr<Backend>> make_backend(const BackendOptions& opt);

// True when the CUDA backend was compiled in and a device is present.
bool cuda_available();
// True when the fast CPU backend runs its AVX2/FMA/F16C path on this CPU.
bool cpu_has_avx2();
// True when the fast CPU backend's best kernels on this CPU read Layout::Interleaved16 directly
// (AVX-512): a model loaded here interleaves its Q4_0 matrices (engine::ModelOptions).
bool cpu_reads_interleaved16();

}  // namespace ig::kernels
