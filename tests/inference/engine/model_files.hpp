// Random-weight model files for the engine tests: a temporary folder per test program, and a
// model written there once (later calls reuse the file) and opened. Errors throw: a test that
// cannot make its model has nothing to check.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "inference/engine/model.hpp"
#include "inference/gguf/random_model.hpp"

namespace ig::engine::testing {

// <temp>/<program>_<pid>, created on first use.
inline std::filesystem::path test_dir(const std::string& program) {
  const auto d = std::filesystem::temp_directory_path() / (program + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

// The small random model most engine tests run: 64 wide, 2 layers, 4 heads (2 KV heads), FFN
// 128, a 512-token vocabulary, context 256.
inline gguf::RandomModelSpec small_model(const std::string& arch, gguf::TensorType type, bool tied, uint32_t seed) {
  gguf::RandomModelSpec r;
  r.arch = arch;
  r.dim = 64;
  r.layers = 2;
  r.heads = 4;
  r.kv_heads = 2;
  r.ffn = 128;
  r.vocab = 512;
  r.ctx = 256;
  r.type = type;
  r.tied = tied;
  r.seed = seed;
  return r;
}

// `spec` written to `path` unless it is already there; returns the path.
inline std::filesystem::path write_once(const gguf::RandomModelSpec& spec, const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    auto st = gguf::write_random_model(spec, path.string());
    if (!st) throw std::runtime_error(st.error().to_string());
  }
  return path;
}

inline Model open_model(const std::filesystem::path& path) {
  auto m = Model::open(path.string());
  if (!m) throw std::runtime_error(m.error().to_string());
  return std::move(*m);
}

}  // namespace ig::engine::testing
