// infergrid-gguf: inspect GGUF files and write random-weight test models.
//
//   infergrid-gguf info FILE [--json]
//   infergrid-gguf tokenize FILE --text T [--bos] [--special] [--json]
//   infergrid-gguf detokenize FILE ID... (or ID,ID,...)
//   infergrid-gguf make --arch llama|qwen2|qwen3 --dim D --layers L --heads H --kv-heads K
//                       --ffn F --vocab V --ctx C --type f32|f16|q8_0|q4_0|q4_k|q5_k|q6_k|q4_k_m|q5_k_m
//                       --seed S [--tied] -o OUT
//   infergrid-gguf derive FILE [--type f32|...|q4_k_m|q5_k_m] [--noise X --seed S] -o OUT
//   infergrid-gguf vocab-from-hf --tokenizer tokenizer.json [--config tokenizer_config.json]
//                                [--pre llama3|qwen2|gpt-2] [--name NAME] -o vocab.gguf
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>

#include "inference/gguf/gguf.hpp"
#include "inference/gguf/derive.hpp"
#include "inference/gguf/kquant_mix.hpp"
#include "inference/gguf/random_model.hpp"
#include "inference/tokenizer/hf_vocab.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace {
using ig::gguf::File;
using ig::gguf::TensorInfo;
using ig::gguf::Value;
using ig::gguf::ValueType;

constexpr size_t kArrayPreview = 8;

std::string type_name(ig::gguf::TensorType t) {
  auto tr = ig::gguf::type_traits(t);
  return tr ? std::string(tr->name) : "type" + std::to_string(static_cast<uint32_t>(t));
}

std::string dims_text(const TensorInfo& t) {
  std::string out = "[";
  for (uint32_t d = 0; d < t.n_dims; ++d) {
    if (d) out += ", ";
    out += std::to_string(t.ne[d]);
  }
  return out + "]";
}

nlohmann::json value_json(const Value& v) {
  switch (v.type) {
    case ValueType::U8: case ValueType::U16: case ValueType::U32: case ValueType::U64: return v.u;
    case ValueType::I8: case ValueType::I16: case ValueType::I32: case ValueType::I64: return v.i;
    case ValueType::F32: case ValueType::F64: return v.f;
    case ValueType::BOOL: return v.b;
    case ValueType::STRING: return v.str;
    case ValueType::ARRAY: {
      nlohmann::json arr = nlohmann::json::object();
      arr["type"] = std::string(ig::gguf::value_type_name(v.elem_type));
      arr["length"] = v.items.size();
      nlohmann::json head = nlohmann::json::array();
      for (size_t k = 0; k < std::min(v.items.size(), kArrayPreview); ++k) head.push_back(value_json(v.items[k]));
      arr["head"] = head;
      return arr;
    }
  }
  return nullptr;
}

void print_json(const File& f) {
  nlohmann::json j;
  j["version"] = f.version();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.data_offset();
  j["file_size"] = f.file_size();
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& kv : f.metadata()) meta[kv.key] = value_json(kv.value);
  j["metadata"] = meta;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : f.tensors()) {
    nlohmann::json ne = nlohmann::json::array();
    for (uint32_t d = 0; d < t.n_dims; ++d) ne.push_back(t.ne[d]);
    tensors.push_back({{"name", t.name}, {"type", type_name(t.type)}, {"ne", ne},
                       {"offset", t.offset}, {"bytes", t.n_bytes}});
  }
  j["tensors"] = tensors;
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void print_text(const File& f) {
  std::printf("GGUF v%u, alignment %u, data at %llu, %llu bytes\n", f.version(), f.alignment(),
              static_cast<unsigned long long>(f.data_offset()), static_cast<unsigned long long>(f.file_size()));
  std::printf("metadata (%zu):\n", f.metadata().size());
  for (const auto& kv : f.metadata())
    std::printf("  %-44s %-6s %s\n", kv.key.c_str(), std::string(ig::gguf::value_type_name(kv.value.type)).c_str(),
                kv.value.render(kArrayPreview).c_str());
  std::printf("tensors (%zu):\n", f.tensors().size());
  uint64_t total = 0;
  for (const auto& t : f.tensors()) {
    std::printf("  %-32s %-5s %-20s offset %-10llu %llu bytes\n", t.name.c_str(), type_name(t.type).c_str(),
                dims_text(t).c_str(), static_cast<unsigned long long>(t.offset),
                static_cast<unsigned long long>(t.n_bytes));
    total += t.n_bytes;
  }
  std::printf("tensor bytes: %llu\n", static_cast<unsigned long long>(total));
}

int run_info(const std::string& path, bool json) {
  auto f = File::open(path);
  if (!f) {
    std::fprintf(stderr, "error: %s\n", f.error().to_string().c_str());
    return 1;
  }
  json ? print_json(*f) : print_text(*f);
  return 0;
}

ig::Expected<ig::tok::Tokenizer> tokenizer_of(const std::string& path) {
  IG_TRY_ASSIGN(f, File::open(path));
  return ig::tok::Tokenizer::from_gguf(f);
}

int report(const ig::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
  return 1;
}

int run_tokenize(const std::string& path, const std::string& text, bool bos, bool special, bool json) {
  auto tok = tokenizer_of(path);
  if (!tok) return report(tok.error());
  auto ids = tok->encode(text, bos, special);
  if (!ids) return report(ids.error());
  nlohmann::json out = {{"ids", nlohmann::json::array()}, {"pieces", nlohmann::json::array()}};
  for (int32_t id : *ids) {
    const std::string piece = tok->token_text(id).value();
    if (json) {
      out["ids"].push_back(id);
      out["pieces"].push_back(piece);
    } else {
      std::printf("%6d  %s\n", id, ig::gguf::Value::of_string(piece).render().c_str());
    }
  }
  if (json) std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int run_detokenize(const std::string& path, const std::vector<int32_t>& ids) {
  auto tok = tokenizer_of(path);
  if (!tok) return report(tok.error());
  auto text = tok->decode(ids);
  if (!text) return report(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  std::printf("\n");
  return 0;
}

int run_make(ig::gguf::RandomModelSpec spec, const std::string& type, const std::string& out) {
  auto t = ig::gguf::parse_matrix_quant(type);
  if (!t) {
    std::fprintf(stderr, "error: %s\n", t.error().to_string().c_str());
    return 2;
  }
  spec.type = t->type;
  spec.mix = t->mix;
  if (auto st = ig::gguf::write_random_model(spec, out); !st) {
    std::fprintf(stderr, "error: %s\n", st.error().to_string().c_str());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

int run_derive(const std::string& src, ig::gguf::DeriveSpec spec, const std::string& type, const std::string& out) {
  if (!type.empty()) {
    auto t = ig::gguf::parse_matrix_quant(type);
    if (!t) return report(t.error());
    spec.matrix_type = t->type;
    spec.mix = t->mix;
  }
  if (auto st = ig::gguf::write_derived_model(src, spec, out); !st) {
    std::fprintf(stderr, "error: %s\n", st.error().to_string().c_str());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
ig::Expected<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ig::fail("io.open", "cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return ig::fail("io.read", "cannot read " + path);
  return ss.str();
}

// Hugging Face tokenizer.json (+ tokenizer_config.json) to a vocabulary-only GGUF.
int run_vocab_from_hf(const std::string& tokenizer, const std::string& config, const std::string& pre,
                      const std::string& name, const std::string& out) {
  auto tok_text = read_text(tokenizer);
  if (!tok_text) return report(tok_text.error());
  std::string config_text;
  if (!config.empty()) {
    auto c = read_text(config);
    if (!c) return report(c.error());
    config_text = std::move(*c);
  }
  auto conv = ig::tok::vocab_from_hf(*tok_text, config_text, ig::tok::HfOptions{pre});
  if (!conv) return report(conv.error());
  if (!name.empty()) conv->name = name;
  if (auto st = ig::tok::write_vocab_gguf(out, *conv); !st) return report(st.error());
  const auto& v = conv->vocab;
  size_t control = 0, user = 0, unused = 0;
  for (auto t : v.types) {
    control += t == ig::tok::TokenType::Control;
    user += t == ig::tok::TokenType::UserDefined;
    unused += t == ig::tok::TokenType::Unused;
  }
  std::printf("wrote %s: %zu tokens (%zu control, %zu user-defined, %zu unused), %zu merges, arch %s\n", out.c_str(),
              v.tokens.size(), control, user, unused, v.merges.size(), conv->arch.c_str());
  for (const auto& note : conv->notes) std::printf("  %s\n", note.c_str());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"infergrid-gguf: inspect GGUF files and write random-weight test models"};
  app.require_subcommand(1);

  auto* info = app.add_subcommand("info", "print a GGUF file's metadata (arrays abbreviated) and tensors");
  std::string info_path;
  bool json = false;
  info->add_option("file", info_path, "GGUF file")->required();
  info->add_flag("--json", json, "machine-readable output");

  auto* tokenize = app.add_subcommand("tokenize", "encode text with a GGUF file's tokenizer");
  std::string tok_path, tok_text;
  bool tok_bos = false, tok_special = false, tok_json = false;
  tokenize->add_option("file", tok_path, "GGUF file with tokenizer.ggml.* metadata")->required();
  tokenize->add_option("--text", tok_text, "text to encode")->required();
  tokenize->add_flag("--bos", tok_bos, "prepend the BOS token");
  tokenize->add_flag("--special", tok_special, "parse control-token texts such as <|im_start|>");
  tokenize->add_flag("--json", tok_json, "print {\"ids\": [...], \"pieces\": [...]}");

  auto* detokenize = app.add_subcommand("detokenize", "decode token ids with a GGUF file's tokenizer");
  std::string detok_path;
  std::vector<int32_t> detok_ids;
  detokenize->add_option("file", detok_path, "GGUF file")->required();
  // Commas too, so the list infergrid-infer --prompt-ids takes ("1,403,407") pastes as is.
  detokenize->add_option("ids", detok_ids, "token ids, separated by spaces or commas")->required()->delimiter(',');

  auto* make = app.add_subcommand("make", "write a random-weight llama, qwen2 or qwen3 model");
  ig::gguf::RandomModelSpec spec;
  std::string type = "f32";
  std::string out;
  make->add_option("--arch", spec.arch, "llama, qwen2 or qwen3")->check(CLI::IsMember({"llama", "qwen2", "qwen3"}));
  make->add_option("--rope-scaling", spec.rope_scaling,
                   "llama3: Llama 3.1 RoPE scaling, written as a rope_freqs tensor (llama only)")
      ->check(CLI::IsMember({"llama3"}));
  make->add_option("--rope-factor", spec.rope_factor, "llama3 scaling factor")->capture_default_str();
  make->add_option("--rope-orig-ctx", spec.rope_orig_ctx, "llama3 original_max_position_embeddings")
      ->capture_default_str();
  make->add_option("--head-dim", spec.head_dim, "head dimension other than dim/heads (qwen3: attention.key_length)");
  make->add_option("--dim", spec.dim, "embedding length")->check(CLI::Range(1u, 65536u));
  make->add_option("--layers", spec.layers, "block count")->check(CLI::Range(1u, 1024u));
  make->add_option("--heads", spec.heads, "attention heads")->check(CLI::Range(1u, 65536u));
  make->add_option("--kv-heads", spec.kv_heads, "key/value heads")->check(CLI::Range(1u, 65536u));
  make->add_option("--ffn", spec.ffn, "feed-forward length")->check(CLI::Range(1u, 262144u));
  make->add_option("--vocab", spec.vocab, "vocabulary size")->check(CLI::Range(1u, 1u << 22));
  make->add_option("--ctx", spec.ctx, "context length")->check(CLI::Range(1u, 1u << 24));
  make->add_option("--type", type, "matrix type (q4_k_m, q5_k_m: llama.cpp's mixes)")
      ->check(CLI::IsMember({"f32", "f16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "q4_k_m", "q5_k_m"}));
  make->add_option("--seed", spec.seed, "weight seed");
  make->add_option("--rope-freq-base", spec.rope_freq_base, "RoPE base (default: 10000 llama, 500000 llama3, 1e6 qwen)")
      ->check(CLI::PositiveNumber);
  make->add_flag("--tied", spec.tied, "omit output.weight (tied embeddings)");
  make->add_option("-o,--output", out, "output file")->required();

  // Models derived from another (docs/verification.md): the cheats of the verification study.
  auto* derive = app.add_subcommand("derive", "write a model's matrices re-quantized and/or with noise added");
  std::string derive_src, derive_type, derive_out;
  ig::gguf::DeriveSpec derive_spec;
  derive->add_option("file", derive_src, "source GGUF model")->required();
  derive->add_option("--type", derive_type, "re-quantize the matrices (those whose rows allow it)")
      ->check(CLI::IsMember({"f32", "f16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "q4_k_m", "q5_k_m"}));
  derive->add_option("--noise", derive_spec.noise, "add N(0, (noise x matrix rms)^2) to every matrix element")
      ->check(CLI::Range(0.0, 1.0));
  derive->add_option("--seed", derive_spec.seed, "noise seed");
  derive->add_option("-o,--output", derive_out, "output file")->required();

  auto* from_hf = app.add_subcommand("vocab-from-hf", "convert a Hugging Face tokenizer.json to a GGUF vocabulary");
  std::string hf_tokenizer, hf_config, hf_pre, hf_name, hf_out;
  from_hf->add_option("--tokenizer", hf_tokenizer, "tokenizer.json")->required()->check(CLI::ExistingFile);
  from_hf->add_option("--config", hf_config, "tokenizer_config.json (bos/eos/pad tokens, add_bos_token)")
      ->check(CLI::ExistingFile);
  from_hf->add_option("--pre", hf_pre, "pre-tokenizer to use instead of recognising the regex")
      ->check(CLI::IsMember({"llama3", "qwen2", "gpt-2"}));
  from_hf->add_option("--name", hf_name, "general.name (default: the pre-tokenizer's name)");
  from_hf->add_option("-o,--output", hf_out, "output GGUF file")->required();

  CLI11_PARSE(app, argc, argv);
  if (from_hf->parsed()) return run_vocab_from_hf(hf_tokenizer, hf_config, hf_pre, hf_name, hf_out);
  if (derive->parsed()) return run_derive(derive_src, derive_spec, derive_type, derive_out);
  if (info->parsed()) return run_info(info_path, json);
  if (tokenize->parsed()) return run_tokenize(tok_path, tok_text, tok_bos, tok_special, tok_json);
  if (detokenize->parsed()) return run_detokenize(detok_path, detok_ids);
  return run_make(spec, type, out);
}
