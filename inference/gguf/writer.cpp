// GGUF serialisation. Values are checked against their declared types so a
// Writer can only produce files the loader accepts.
#include "inference/gguf/writer.hpp"

#include <cstring>
#include <fstream>

namespace ig::gguf {

namespace {
class Bytes {
 public:
  Bytes() { out_.reserve(1 << 16); }

  template <typename T>
  void put(T v) {
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    const size_t at = out_.size();
    out_.resize(at + s.size());
    if (!s.empty()) std::memcpy(out_.data() + at, s.data(), s.size());
  }
  void pad_to(uint64_t alignment) {
    while (out_.size() % alignment != 0) out_.push_back(0);
  }
  std::vector<uint8_t>& out() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

Status put_value(Bytes& b, const Value& v) {
  switch (v.type) {
    case ValueType::U8: b.put<uint8_t>(static_cast<uint8_t>(v.u)); break;
    case ValueType::I8: b.put<int8_t>(static_cast<int8_t>(v.i)); break;
    case ValueType::U16: b.put<uint16_t>(static_cast<uint16_t>(v.u)); break;
    case ValueType::I16: b.put<int16_t>(static_cast<int16_t>(v.i)); break;
    case ValueType::U32: b.put<uint32_t>(static_cast<uint32_t>(v.u)); break;
    case ValueType::I32: b.put<int32_t>(static_cast<int32_t>(v.i)); break;
    case ValueType::U64: b.put<uint64_t>(v.u); break;
    case ValueType::I64: b.put<int64_t>(v.i); break;
    case ValueType::F32: b.put<float>(static_cast<float>(v.f)); break;
    case ValueType::F64: b.put<double>(v.f); break;
    case ValueType::BOOL: b.put<uint8_t>(v.b ? 1 : 0); break;
    case ValueType::STRING: b.put_string(v.str); break;
    case ValueType::ARRAY:
      b.put<uint32_t>(static_cast<uint32_t>(v.elem_type));
      b.put<uint64_t>(v.items.size());
      for (const auto& item : v.items) {
        if (item.type != v.elem_type)
          return fail("gguf.wrong_type", "array of " + std::string(value_type_name(v.elem_type)) +
                                             " holds a " + std::string(value_type_name(item.type)));
        IG_TRY(put_value(b, item));
      }
      break;
    default: return fail("gguf.bad_value_type", "cannot write an unknown value type");
  }
  return {};
}
}  // namespace

Writer::Writer(uint32_t version, uint32_t alignment) : version_(version), alignment_(alignment) {
  if (alignment_ != kDefaultAlignment) set("general.alignment", Value::of_u32(alignment_));
}

void Writer::set(const std::string& key, Value v) {
  for (auto& kv : kvs_) {
    if (kv.key == key) {
      kv.value = std::move(v);
      return;
    }
  }
  kvs_.push_back(KeyValue{key, std::move(v)});
}

Status Writer::add_tensor(std::string name, TensorType type, std::vector<uint64_t> ne,
                          std::vector<uint8_t> data) {
  if (ne.empty() || ne.size() > kMaxDims)
    return fail("gguf.bad_shape", "tensor '" + name + "' needs 1 to 4 dimensions");
  for (const auto& t : tensors_)
    if (t.name == name) return fail("gguf.duplicate_tensor", "tensor '" + name + "' added twice");
  IG_TRY_ASSIGN(row, row_bytes(type, ne[0]));
  uint64_t rows = 1;
  for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
  if (row * rows != data.size())
    return fail("gguf.bad_shape", "tensor '" + name + "' expects " + std::to_string(row * rows) +
                                      " bytes, got " + std::to_string(data.size()));
  const uint64_t offset = (data_size_ + alignment_ - 1) / alignment_ * alignment_;
  data_size_ = offset + data.size();
  tensors_.push_back(Pending{std::move(name), type, std::move(ne), std::move(data), offset});
  return {};
}

Expected<std::vector<uint8_t>> Writer::header_bytes() const {
  if (version_ != 2 && version_ != 3) return fail("gguf.unsupported_version", "can write versions 2 and 3");
  Bytes b;
  b.put<uint32_t>(0x46554747u);  // "GGUF" little-endian
  b.put<uint32_t>(version_);
  b.put<uint64_t>(tensors_.size());
  b.put<uint64_t>(kvs_.size());
  for (const auto& kv : kvs_) {
    b.put_string(kv.key);
    b.put<uint32_t>(static_cast<uint32_t>(kv.value.type));
    IG_TRY(put_value(b, kv.value));
  }
  for (const auto& t : tensors_) {
    b.put_string(t.name);
    b.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t n : t.ne) b.put<uint64_t>(n);
    b.put<uint32_t>(static_cast<uint32_t>(t.type));
    b.put<uint64_t>(t.offset);
  }
  if (!tensors_.empty()) b.pad_to(alignment_);
  return std::move(b.out());
}

Expected<std::vector<uint8_t>> Writer::to_bytes() const {
  IG_TRY_ASSIGN(out, header_bytes());
  const size_t base = out.size();
  out.resize(base + data_size_, 0);
  for (const auto& t : tensors_) std::memcpy(out.data() + base + t.offset, t.data.data(), t.data.size());
  return out;
}

Status Writer::write_file(const std::string& path) const {
  IG_TRY_ASSIGN(header, header_bytes());
  std::ofstream os(path, std::ios::binary | std::ios::trunc);
  if (!os) return fail("gguf.io", "cannot create '" + path + "'");
  os.write(reinterpret_cast<const char*>(header.data()), static_cast<std::streamsize>(header.size()));
  uint64_t written = 0;
  static const char zeros[64] = {};
  for (const auto& t : tensors_) {
    while (written < t.offset) {  // alignment padding between tensors
      const uint64_t n = std::min<uint64_t>(sizeof zeros, t.offset - written);
      os.write(zeros, static_cast<std::streamsize>(n));
      written += n;
    }
    os.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
    written += t.data.size();
  }
  os.flush();
  if (!os) return fail("gguf.io", "failed writing '" + path + "'");
  return {};
}

}  // namespace ig::gguf
