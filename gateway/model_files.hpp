// The GGUF files the gateway is given (--model, like the workers): for each, its on-chain id
// (SHA-256 of the file), its chat template family, and its tokenizer, which counts a prompt's
// tokens by the task rule for `usage.prompt_tokens` and the context check. Only metadata and
// the vocabulary are read (the file is memory-mapped; no weights are loaded).
//
// A registered model without a file here is still served: chat requests use the Plain
// template and usage.prompt_tokens is 0 (docs/gateway.md).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "gateway/chat_template.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace ig::gateway {

struct ModelFile {
  std::string path;
  std::string id_hex;
  std::string architecture;
  TemplateFamily family = TemplateFamily::Plain;
  bool has_template = false;  // tokenizer.chat_template present
  std::shared_ptr<const tok::Tokenizer> tokenizer;
};

class ModelFiles {
 public:
  // Reads every file; errors name the file ("gateway.model").
  static Expected<ModelFiles> load(const std::vector<std::string>& paths);

  const ModelFile* find(const std::string& id_hex) const;
  const std::map<std::string, ModelFile>& all() const { return files_; }
  // Prompt tokens by the chain's task rule (BOS as the vocabulary says); nullopt without a file
  // for the model or when the text cannot be tokenized.
  std::optional<uint64_t> prompt_tokens(const std::string& id_hex, const std::string& prompt) const;

 private:
  std::map<std::string, ModelFile> files_;  // by id hex
};

Expected<ModelFile> load_model_file(const std::string& path);

}  // namespace ig::gateway
