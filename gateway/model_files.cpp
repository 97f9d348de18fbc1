#include "gateway/model_files.hpp"

#include <set>

#include "chain/bytes.hpp"
#include "inference/receipt/result.hpp"
#include "workers/model_catalog.hpp"

namespace ig::gateway {

Expected<ModelFile> load_model_file(const std::string& path) {
  auto wrap = [&](const Error& e) { return fail("gateway.model", path + ": " + e.message); };
  auto file = gguf::File::open(path);
  if (!file) return wrap(file.error());
  auto id = workers::file_sha256(path);
  if (!id) return wrap(id.error());
  ModelFile m;
  m.path = path;
  m.id_hex = chain::to_hex(*id);
  m.architecture = file->architecture().value_or("");
  std::optional<std::string> tmpl;
  if (file->has("tokenizer.chat_template")) {
    auto t = file->get_string("tokenizer.chat_template");
    if (t) tmpl = *t;
  }
  m.has_template = tmpl.has_value();
  auto tokenizer = tok::Tokenizer::from_gguf(*file);
  std::set<std::string, std::less<>> specials;
  if (tokenizer) {
    // Only control and user-defined tokens can be template markers.
    const auto& v = tokenizer->vocab();
    for (size_t i = 0; i < v.tokens.size(); ++i) {
      if (i < v.types.size() && (v.types[i] == tok::TokenType::Control || v.types[i] == tok::TokenType::UserDefined))
        specials.insert(v.tokens[i]);
    }
    m.tokenizer = std::make_shared<const tok::Tokenizer>(std::move(*tokenizer));
  }
  m.family = detect_family(tmpl, m.architecture, [&](std::string_view t) { return specials.count(t) > 0; });
  return m;
}

Expected<ModelFiles> ModelFiles::load(const std::vector<std::string>& paths) {
  ModelFiles out;
  for (const auto& p : paths) {
    IG_TRY_ASSIGN(m, load_model_file(p));
    out.files_[m.id_hex] = std::move(m);
  }
  return out;
}

const ModelFile* ModelFiles::find(const std::string& id_hex) const {
  auto it = files_.find(id_hex);
  return it == files_.end() ? nullptr : &it->second;
}

std::optional<uint64_t> ModelFiles::prompt_tokens(const std::string& id_hex, const std::string& prompt) const {
  const ModelFile* m = find(id_hex);
  if (!m || !m->tokenizer) return std::nullopt;
  auto ids = receipt::task_prompt_ids(*m->tokenizer, prompt);
  if (!ids) return std::nullopt;
  return ids->size();
}

}  // namespace ig::gateway
