// The study's models and backends. Random-weight models are a pure function of their spec
// (inference/gguf/random_model.hpp), so the same seed with another matrix type is the same
// model at another quantization: exactly what a quantization-downgrading miner runs.
#include <filesystem>

#include "bench/verify_study/study.hpp"
#include "inference/gguf/derive.hpp"
#include "inference/gguf/random_model.hpp"
#include "inference/receipt/ids.hpp"

namespace ig::study {
namespace {

namespace fs = std::filesystem;
using gguf::TensorType;

const std::string kData = INFERGRID_SHARED_DATA;

struct Recipe {
  std::string name;
  std::optional<gguf::RandomModelSpec> random;  // made with the random-model maker
  std::string derive_from;                      // or derived from another model of the set
  gguf::DeriveSpec derive;
  std::string shared;                           // or a file of shared/data
};

gguf::RandomModelSpec qwen(uint32_t dim, uint32_t layers, uint32_t heads, uint32_t ffn, TensorType t, uint64_t seed,
                           uint32_t vocab = 32000) {
  gguf::RandomModelSpec s;
  s.arch = "qwen2";
  s.dim = dim;
  s.layers = layers;
  s.heads = heads;
  s.kv_heads = 2;
  s.ffn = ffn;
  s.vocab = vocab;
  s.type = t;
  s.seed = seed;
  return s;
}

Recipe random(std::string name, gguf::RandomModelSpec spec) { return Recipe{std::move(name), spec, "", {}, ""}; }
Recipe derived(std::string name, std::string from, std::optional<TensorType> type, double noise) {
  gguf::DeriveSpec d;
  d.matrix_type = type;
  d.noise = noise;
  d.seed = 1;
  return Recipe{std::move(name), std::nullopt, std::move(from), d, ""};
}

std::vector<Recipe> recipes(bool quick) {
  std::vector<Recipe> r;
  r.push_back(Recipe{"stories", std::nullopt, "", {}, kData + "/models/stories260K.gguf"});
  r.push_back(derived("stories-q8", "stories", TensorType::Q8_0, 0));
  r.push_back(derived("stories-q4", "stories", TensorType::Q4_0, 0));
  r.push_back(derived("stories-n3", "stories", std::nullopt, 1e-3));
  if (quick) {
    // A Qwen2-shaped model small enough for a ctest run, at three quantizations.
    r.push_back(random("tiny-q8", qwen(64, 2, 4, 128, TensorType::Q8_0, 3, 512)));
    r.push_back(random("tiny-f16", qwen(64, 2, 4, 128, TensorType::F16, 3, 512)));
    r.push_back(random("tiny-q4", qwen(64, 2, 4, 128, TensorType::Q4_0, 3, 512)));
    r.push_back(random("tiny-q8-s4", qwen(64, 2, 4, 128, TensorType::Q8_0, 4, 512)));
    return r;
  }
  // The model (infergrid-gguf make --arch qwen2 --dim 512 --layers 8 --heads 8
  // --kv-heads 2 --ffn 1536 --vocab 32000 --type q8_0 --seed 3) and its relatives.
  r.push_back(random("qwen-q8", qwen(512, 8, 8, 1536, TensorType::Q8_0, 3)));
  r.push_back(random("qwen-f16", qwen(512, 8, 8, 1536, TensorType::F16, 3)));
  r.push_back(random("qwen-q4", qwen(512, 8, 8, 1536, TensorType::Q4_0, 3)));
  r.push_back(random("qwen-q8-s4", qwen(512, 8, 8, 1536, TensorType::Q8_0, 4)));
  r.push_back(random("qwen-small-q8", qwen(256, 4, 4, 768, TensorType::Q8_0, 5)));
  gguf::RandomModelSpec llama;  // Q4_0 honest noise on another architecture
  llama.arch = "llama";
  llama.dim = 256;
  llama.layers = 4;
  llama.heads = 4;
  llama.kv_heads = 4;
  llama.ffn = 768;
  llama.vocab = 4096;
  llama.type = TensorType::Q4_0;
  llama.seed = 7;
  r.push_back(random("llama-q4", llama));
  r.push_back(derived("stories-n2", "stories", std::nullopt, 1e-2));
  r.push_back(derived("stories-q8-n2", "stories", TensorType::Q8_0, 1e-2));
  return r;
}

}  // namespace

Expected<BackendSpec> backend_spec(const std::string& name) {
  BackendSpec b{name, {}};
  b.options.threads = 1;
  if (name == "reference") b.options.kind = kernels::BackendKind::Reference;
  else if (name == "cpu") b.options.kind = kernels::BackendKind::Cpu;
  else if (name == "cpu2") b.options.threads = 2;
  else if (name == "cpu-scalar") b.options.cpu_variant = "scalar";
  else if (name == "cpu-avx2") b.options.cpu_variant = "avx2";
  else if (name == "cpu-avx512") b.options.cpu_variant = "avx512";
  else if (name == "cuda") b.options.kind = kernels::BackendKind::Cuda;
  else return fail("study.bad_backend", "unknown backend '" + name + "'");
  return b;
}

Expected<ModelSet> ModelSet::prepare(const std::string& dir, bool quick) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("study.io", "cannot create " + dir + ": " + ec.message());
  ModelSet set;
  for (const Recipe& r : recipes(quick)) {
    std::string path = r.shared.empty() ? dir + "/" + r.name + ".gguf" : r.shared;
    // Made once and reused: every recipe is deterministic, so a file of that name is that model.
    if (!fs::exists(path)) {
      if (r.random) {
        IG_TRY(gguf::write_random_model(*r.random, path + ".tmp"));
      } else {
        IG_TRY_ASSIGN(src, set.get(r.derive_from));
        IG_TRY(gguf::write_derived_model(src->path, r.derive, path + ".tmp"));
      }
      fs::rename(path + ".tmp", path, ec);
      if (ec) return fail("study.io", "cannot write " + path + ": " + ec.message());
    }
    IG_TRY_ASSIGN(m, engine::Model::open(path));
    IG_TRY_ASSIGN(tk, receipt::model_tokenizer(m));
    StudyModel sm;
    sm.name = r.name;
    sm.path = path;
    sm.id = receipt::model_id(m.file());
    sm.model = std::make_shared<const engine::Model>(std::move(m));
    sm.tokenizer = std::make_shared<const tok::Tokenizer>(std::move(tk));
    set.models_.emplace(r.name, std::move(sm));
  }
  return set;
}

Expected<const StudyModel*> ModelSet::get(const std::string& name) const {
  auto it = models_.find(name);
  if (it == models_.end()) return fail("study.no_model", "no model '" + name + "' in this study's set");
  return &it->second;
}

const char* param_kind_name(ParamKind k) {
  switch (k) {
    case ParamKind::Greedy: return "greedy";
    case ParamKind::Sampled: return "sampled";
    case ParamKind::SampledPlain: return "sampled_plain";
  }
  return "?";
}

ig::SamplingParams params_for(ParamKind k, uint32_t max_tokens, uint64_t seed) {
  ig::SamplingParams p;
  p.max_tokens = max_tokens;
  if (k == ParamKind::Sampled) {
    p.temperature_milli = 800;  // the devnet's and the sampled tasks
    p.top_k = 40;
    p.top_p_milli = 950;
    p.seed = seed;
  } else if (k == ParamKind::SampledPlain) {
    p.temperature_milli = 1000;
    p.seed = seed;
  }
  return p;
}

}  // namespace ig::study
