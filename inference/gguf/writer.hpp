// Writes GGUF v2/v3 files: metadata in insertion order, tensors aligned.
//
//   ig::gguf::Writer w;
//   w.set("general.architecture", Value::of_string("llama"));
//   IG_TRY(w.add_tensor("output_norm.weight", TensorType::F32, {64}, bytes));
//   IG_TRY(w.write_file("out.gguf"));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"

namespace ig::gguf {

class Writer {
 public:
  explicit Writer(uint32_t version = 3, uint32_t alignment = kDefaultAlignment);

  // Adds or replaces a key (general.alignment is written automatically when not 32).
  void set(const std::string& key, Value v);
  // `data` must hold exactly row_bytes(type, ne[0]) * rows bytes; ne in ggml order.
  Status add_tensor(std::string name, TensorType type, std::vector<uint64_t> ne, std::vector<uint8_t> data);

  size_t tensor_count() const { return tensors_.size(); }
  Expected<std::vector<uint8_t>> to_bytes() const;
  Status write_file(const std::string& path) const;  // streams; no second copy of the data

 private:
  struct Pending {
    std::string name;
    TensorType type;
    std::vector<uint64_t> ne;
    std::vector<uint8_t> data;
    uint64_t offset;
  };
  Expected<std::vector<uint8_t>> header_bytes() const;  // up to the aligned data start

  uint32_t version_;
  uint32_t alignment_;
  std::vector<KeyValue> kvs_;
  std::vector<Pending> tensors_;
  uint64_t data_size_ = 0;
};

}  // namespace ig::gguf
