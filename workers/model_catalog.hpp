// The GGUF files a worker was given, loaded once (memory-mapped) and found by their on-chain
// model id, the SHA-256 of the whole file (DESIGN §6). A task for a model the worker does not
// hold is not something it can serve; the catalog says so instead of guessing.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "common/sha256.hpp"
#include "inference/engine/model.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace ig::workers {

struct CatalogModel {
  std::string path;
  Hash32 id{};
  std::string id_hex;
  std::unique_ptr<engine::Model> model;
  std::unique_ptr<tok::Tokenizer> tokenizer;  // from the same file
};

class ModelCatalog {
 public:
  // Loads every file; errors name the file ("catalog.load").
  static Expected<ModelCatalog> load(const std::vector<std::string>& paths);

  const CatalogModel* find(const Hash32& id) const;
  const CatalogModel* find(const std::string& id_hex) const;
  std::vector<std::string> ids_hex() const;
  bool empty() const { return models_.empty(); }

 private:
  std::map<std::string, std::shared_ptr<CatalogModel>> models_;  // by id hex
};

// SHA-256 of a whole file, streamed. "catalog.io" when it cannot be read.
Expected<Hash32> file_sha256(const std::string& path);

}  // namespace ig::workers
