// Type table, backend names and the backend factory.
#include "kernels/kernels.hpp"

#include "kernels/cpu/cpu_backend.hpp"
#include "kernels/cuda/cuda_entry.hpp"
#include "kernels/formats.hpp"
#include "kernels/kquants.hpp"
#include "kernels/q5_formats.hpp"
#include "kernels/reference/reference_backend.hpp"

#include <cstring>
#include <thread>

namespace ig::kernels {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::Q4_0: return "Q4_0";
    case DType::Q8_0: return "Q8_0";
    case DType::Q5_0: return "Q5_0";
    case DType::Q5_1: return "Q5_1";
    case DType::Q4_K: return "Q4_K";
    case DType::Q5_K: return "Q5_K";
    case DType::Q6_K: return "Q6_K";
  }
  return "?";
}

bool dtype_supported(uint32_t t) { return t == 0 || t == 1 || t == 2 || (t >= 6 && t <= 8) || (t >= 12 && t <= 14); }

bool row_shape_valid(DType t, int64_t cols) {
  if (cols <= 0) return false;
  if (t == DType::Q4_0 || t == DType::Q8_0 || dtype_is_q5(t)) return cols % kBlock == 0;
  if (dtype_is_kquant(t)) return cols % kQK_K == 0;
  return true;
}

size_t row_bytes(DType t, int64_t cols) {
  switch (t) {
    case DType::F32: return size_t(cols) * 4;
    case DType::F16: return size_t(cols) * 2;
    case DType::Q4_0: return size_t(cols / kBlock) * sizeof(BlockQ4_0);
    case DType::Q8_0: return size_t(cols / kBlock) * sizeof(BlockQ8_0);
    case DType::Q5_0: return size_t(cols / kBlock) * sizeof(BlockQ5_0);
    case DType::Q5_1: return size_t(cols / kBlock) * sizeof(BlockQ5_1);
    case DType::Q4_K: return size_t(cols / kQK_K) * sizeof(BlockQ4_K);
    case DType::Q5_K: return size_t(cols / kQK_K) * sizeof(BlockQ5_K);
    case DType::Q6_K: return size_t(cols / kQK_K) * sizeof(BlockQ6_K);
  }
  return 0;
}

void Backend::copy(const float* src, float* dst, size_t n) { std::memcpy(dst, src, n * sizeof(float)); }

void Backend::matmul_shared(const Weight* const* ws, int count, const float* x, int n_tokens, float* const* ys) {
  for (int i = 0; i < count; ++i) matmul(*ws[i], x, n_tokens, ys[i]);
}

const char* backend_kind_name(BackendKind k) {
  switch (k) {
    case BackendKind::Reference: return "reference";
    case BackendKind::Cpu: return "cpu";
    case BackendKind::Cuda: return "cuda";
  }
  return "?";
}

Expected<BackendKind> parse_backend_kind(const std::string& s) {
  if (s == "reference") return BackendKind::Reference;
  if (s == "cpu") return BackendKind::Cpu;
  if (s == "cuda") return BackendKind::Cuda;
  return fail("kernels.bad_backend", "unknown backend '" + s + "' (expected reference, cpu or cuda)");
}

Expected<std::unique_ptr<Backend>> make_backend(const BackendOptions& opt) {
  int threads = opt.threads;
  if (threads < 0 || threads > 1024)
    return fail("kernels.bad_threads", "thread count must be between 0 and 1024");
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  switch (opt.kind) {
    case BackendKind::Reference:
      return std::unique_ptr<Backend>(std::make_unique<ReferenceBackend>());
    case BackendKind::Cpu: {
      if (opt.cpu_variant.empty()) return std::unique_ptr<Backend>(std::make_unique<CpuBackend>(threads));
      const std::string& v = opt.cpu_variant;
      const bool avx2 = cpu_has_avx2();
      const cpu::DotTable* table = v == "scalar"                                      ? &cpu::scalar_table()
                                   : v == "avx2" && avx2                              ? &cpu::avx2_table()
                                   : v == "avxvnni" && avx2 && cpu::cpu_has_avxvnni() ? &cpu::avxvnni_table()
                                   : v == "avx512" && avx2 && cpu::cpu_has_avx512() ? &cpu::avx512_table()
                                   : v == "avx512-amx" && avx2 && cpu::cpu_has_avx512() && cpu::cpu_has_amx() && cpu::cpu_has_gfni()
                                       ? &cpu::avx512_amx_table()
                                       : nullptr;
      if (!table) return fail("kernels.bad_variant", "CPU variant '" + v + "' is unknown or this CPU cannot run it");
      return std::unique_ptr<Backend>(std::make_unique<CpuBackend>(threads, *table));
    }
    case BackendKind::Cuda:
      return make_cuda_backend();
  }
  return fail("kernels.bad_backend", "unknown backend kind");
}

}  // namespace ig::kernels
