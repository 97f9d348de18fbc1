#include "workers/model_catalog.hpp"

#include <fstream>
#include <vector>

#include "chain/bytes.hpp"

namespace ig::workers {

Expected<Hash32> file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("catalog.io", "cannot read " + path);
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) h.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf.data()), static_cast<size_t>(n)));
  }
  if (in.bad()) return fail("catalog.io", "read error in " + path);
  return h.finish();
}

Expected<ModelCatalog> ModelCatalog::load(const std::vector<std::string>& paths) {
  ModelCatalog c;
  for (const auto& path : paths) {
    IG_TRY_ASSIGN(id, file_sha256(path));
    auto model = engine::Model::open(path);
    if (!model) return fail("catalog.load", path + ": " + model.error().message);
    auto entry = std::make_shared<CatalogModel>();
    entry->path = path;
    entry->id = id;
    entry->id_hex = chain::to_hex(id);
    entry->model = std::make_unique<engine::Model>(std::move(*model));
    auto tokenizer = tok::Tokenizer::from_gguf(entry->model->file());
    if (!tokenizer) return fail("catalog.load", path + ": tokenizer: " + tokenizer.error().message);
    entry->tokenizer = std::make_unique<tok::Tokenizer>(std::move(*tokenizer));
    c.models_[entry->id_hex] = std::move(entry);
  }
  return c;
}

const CatalogModel* ModelCatalog::find(const Hash32& id) const { return find(chain::to_hex(id)); }

const CatalogModel* ModelCatalog::find(const std::string& id_hex) const {
  auto it = models_.find(id_hex);
  return it == models_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ModelCatalog::ids_hex() const {
  std::vector<std::string> out;
  for (const auto& [id, m] : models_) out.push_back(id);
  return out;
}

}  // namespace ig::workers
