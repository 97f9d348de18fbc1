#include "workers/journal.hpp"

#include "common/atomic_file.hpp"

#include <fstream>
#include <sstream>

namespace ig::workers {

Expected<Journal> Journal::open(const std::string& path) {
  Journal j;
  j.path_ = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return j;  // a new worker
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return fail("journal.corrupt", path + " is not a JSON object; move it away only if you know no result is pending");
  j.data_ = std::move(doc);
  return j;
}

Status Journal::save() const {
  return write_file_atomic(path_, data_.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace ig::workers
