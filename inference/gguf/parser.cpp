// GGUF parsing and validation. Every read goes through a bounds-checked cursor,
// and every count is checked against the bytes left before anything is
// allocated, so a hostile file can neither read out of range nor exhaust memory.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <numeric>

#include "inference/gguf/gguf.hpp"

namespace ig::gguf {

struct File::Storage {
  static constexpr std::align_val_t kOwnedAlignment{64};  // tensor data keeps SIMD alignment in copies too

  const uint8_t* data = nullptr;
  size_t size = 0;
  void* map = nullptr;
  uint8_t* owned = nullptr;
  // image_sha256, taken once: lazily, or before the first rewrite_tensor_data.
  mutable std::once_flag sha_once;
  mutable Hash32 sha{};
  std::mutex rewrite_mutex;  // one rewrite (and its page protection change) at a time

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (map != nullptr) munmap(map, size);
    if (owned != nullptr) ::operator delete[](owned, kOwnedAlignment);
  }
};

std::span<const uint8_t> File::raw() const {
  if (!storage_) return {};  // a default-constructed File is empty
  return {storage_->data, storage_->size};
}

const Hash32& File::image_sha256() const {
  static const Hash32 kEmpty = sha256(std::span<const uint8_t>{});
  if (!storage_) return kEmpty;
  std::call_once(storage_->sha_once, [&] { storage_->sha = sha256(raw()); });
  return storage_->sha;
}

Status File::rewrite_tensor_data(const TensorInfo& t, const std::function<void(uint8_t*)>& rewrite) {
  if (!storage_ || t.data < storage_->data || t.n_bytes > storage_->size ||
      size_t(t.data - storage_->data) > storage_->size - t.n_bytes)
    return fail("gguf.io", "tensor " + t.name + " is not in this file's image");
  image_sha256();
  auto& s = const_cast<Storage&>(*storage_);
  std::lock_guard lock(s.rewrite_mutex);
  auto* p = const_cast<uint8_t*>(t.data);
  if (s.owned != nullptr) {  // from_bytes: a heap copy, always writable
    rewrite(p);
    return {};
  }
  // A mapping (of the file, private, or the anonymous copy): writable for the rewrite only. The
  // pages of a private file mapping become private copies; the file is never written. The whole
  // mapping changes protection at once: changing part of it would split its huge pages.
  if (mprotect(s.map, s.size, PROT_READ | PROT_WRITE) != 0)
    return fail("gguf.io", "cannot make tensor " + t.name + " writable: " + std::strerror(errno));
  rewrite(p);
  mprotect(s.map, s.size, PROT_READ);
  return {};
}

namespace {

constexpr int kMaxArrayNesting = 8;

// Internal only: converted to ig::Error at the parse() boundary.
struct ParseError : std::exception {
  Error error;
  explicit ParseError(std::string code, std::string message)
      : error{std::move(code), std::move(message)} {}
};

[[noreturn]] void raise(std::string code, std::string message) {
  throw ParseError(std::move(code), std::move(message));
}

// Messages are assembled only on failure: `what` names the field, `part` the piece of it.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, std::string_view what, std::string_view part = {}) const {
    if (n > remaining())
      raise("gguf.truncated", "file ends inside " + label(what, part) + " at byte " + std::to_string(pos_) +
                                  " (needs " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
                                  " left)");
  }

  template <typename T>
  T read(std::string_view what, std::string_view part = {}) {
    need(sizeof(T), what, part);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(std::string_view what, std::string_view part = {}) {
    const uint64_t len = read<uint64_t>(what, part);
    if (len > remaining())
      raise("gguf.bad_length", label(what, part) + " length " + std::to_string(len) + " exceeds the " +
                                   std::to_string(remaining()) + " bytes left in the file");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

 private:
  static std::string label(std::string_view what, std::string_view part) {
    std::string out(what);
    if (!part.empty()) out.append(" ").append(part);
    return out;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

bool valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::F64); }

// Smallest encoding of one value of a type, to bound counts before allocating.
uint64_t min_encoded_size(ValueType t) {
  switch (t) {
    case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
    case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 12;
  }
  return 1;
}

Value read_value(Cursor& c, ValueType t, const std::string& what, int depth);

Value read_array(Cursor& c, const std::string& what, int depth) {
  if (depth >= kMaxArrayNesting)
    raise("gguf.bad_value", what + ": arrays nested deeper than " + std::to_string(kMaxArrayNesting));
  const uint32_t raw_type = c.read<uint32_t>(what, "element type");
  if (!valid_value_type(raw_type))
    raise("gguf.bad_value_type", what + ": unknown array element type " + std::to_string(raw_type));
  const auto elem = static_cast<ValueType>(raw_type);
  const uint64_t count = c.read<uint64_t>(what, "element count");
  if (count > c.remaining() / min_encoded_size(elem))
    raise("gguf.bad_count", what + ": array of " + std::to_string(count) + " " +
                                std::string(value_type_name(elem)) + " cannot fit in the " +
                                std::to_string(c.remaining()) + " bytes left");
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (uint64_t k = 0; k < count; ++k) items.push_back(read_value(c, elem, what, depth + 1));
  return Value::of_array(elem, std::move(items));
}

Value read_value(Cursor& c, ValueType t, const std::string& what, int depth) {
  switch (t) {
    case ValueType::U8: return Value::of_u8(c.read<uint8_t>(what));
    case ValueType::I8: return Value::of_i8(c.read<int8_t>(what));
    case ValueType::U16: return Value::of_u16(c.read<uint16_t>(what));
    case ValueType::I16: return Value::of_i16(c.read<int16_t>(what));
    case ValueType::U32: return Value::of_u32(c.read<uint32_t>(what));
    case ValueType::I32: return Value::of_i32(c.read<int32_t>(what));
    case ValueType::U64: return Value::of_u64(c.read<uint64_t>(what));
    case ValueType::I64: return Value::of_i64(c.read<int64_t>(what));
    case ValueType::F32: return Value::of_f32(c.read<float>(what));
    case ValueType::F64: return Value::of_f64(c.read<double>(what));
    case ValueType::BOOL: {
      const uint8_t b = c.read<uint8_t>(what);
      if (b > 1) raise("gguf.bad_value", what + ": bool byte " + std::to_string(b) + " is not 0 or 1");
      return Value::of_bool(b == 1);
    }
    case ValueType::STRING: return Value::of_string(c.read_string(what));
    case ValueType::ARRAY: return read_array(c, what, depth);
  }
  raise("gguf.bad_value_type", what + ": unknown value type");
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) raise("gguf.bad_shape", what + ": size overflows 64 bits");
  return r;
}

uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) raise("gguf.bad_offset", what + ": offset overflows 64 bits");
  return r;
}

}  // namespace

class Parser {
 public:
  static Expected<File> parse(std::shared_ptr<const File::Storage> storage) {
    File f;
    f.storage_ = std::move(storage);
    f.size_ = f.storage_->size;
    try {
      Cursor c(f.storage_->data, f.storage_->size);
      const auto [n_tensors, n_kv] = read_header(c, f);
      read_metadata(c, f, n_kv);
      read_alignment(f);
      read_tensor_infos(c, f, n_tensors);
      place_tensors(c, f);
    } catch (const ParseError& e) {
      return fail(e.error);
    } catch (const std::bad_alloc&) {
      return fail("gguf.too_large", "metadata too large to hold in memory");
    }
    return f;
  }

 private:
  static std::pair<uint64_t, uint64_t> read_header(Cursor& c, File& f) {
    c.need(4, "the magic");
    const auto magic = c.read<uint32_t>("the magic");
    if (std::memcmp(&magic, "GGUF", 4) != 0) raise("gguf.bad_magic", "not a GGUF file (bad magic)");
    const auto version = c.read<uint32_t>("the version");
    if (version == 1) raise("gguf.unsupported_version", "GGUF version 1 is not supported (only 2 and 3)");
    if (version == 0x02000000u || version == 0x03000000u)
      raise("gguf.unsupported_version", "big-endian GGUF files are not supported");
    if (version != 2 && version != 3)
      raise("gguf.unsupported_version", "unsupported GGUF version " + std::to_string(version));
    f.version_ = version;
    const auto n_tensors = c.read<uint64_t>("the tensor count");
    const auto n_kv = c.read<uint64_t>("the metadata count");
    // A key/value needs at least 13 bytes, a tensor description at least 32.
    if (n_kv > c.remaining() / 13)
      raise("gguf.bad_count", "metadata count " + std::to_string(n_kv) + " cannot fit in the file");
    if (n_tensors > c.remaining() / 32)
      raise("gguf.bad_count", "tensor count " + std::to_string(n_tensors) + " cannot fit in the file");
    return {n_tensors, n_kv};
  }

  static void read_metadata(Cursor& c, File& f, uint64_t n_kv) {
    f.kvs_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t k = 0; k < n_kv; ++k) {
      const std::string idx = "metadata #" + std::to_string(k);
      std::string key = c.read_string(idx, "key");
      const uint32_t raw_type = c.read<uint32_t>(idx, "type");
      if (!valid_value_type(raw_type))
        raise("gguf.bad_value_type", "metadata '" + key + "': unknown value type " + std::to_string(raw_type));
      Value v = read_value(c, static_cast<ValueType>(raw_type), "metadata '" + key + "'", 0);
      if (!f.kv_index_.emplace(key, f.kvs_.size()).second)
        raise("gguf.duplicate_key", "metadata key '" + key + "' appears twice");
      f.kvs_.push_back(KeyValue{std::move(key), std::move(v)});
    }
  }

  static void read_alignment(File& f) {
    const Value* v = f.find("general.alignment");
    if (v == nullptr) return;
    if (v->type != ValueType::U32)
      raise("gguf.bad_alignment", "general.alignment must be a u32, found " +
                                      std::string(value_type_name(v->type)));
    if (v->u == 0 || (v->u & (v->u - 1)) != 0)
      raise("gguf.bad_alignment", "general.alignment " + std::to_string(v->u) + " is not a power of two");
    f.alignment_ = static_cast<uint32_t>(v->u);
  }

  static void read_tensor_infos(Cursor& c, File& f, uint64_t n_tensors) {
    f.tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t k = 0; k < n_tensors; ++k) {
      TensorInfo t;
      t.name = c.read_string("tensor #" + std::to_string(k), "name");
      const std::string what = "tensor '" + t.name + "'";
      t.n_dims = c.read<uint32_t>(what, "dimension count");
      if (t.n_dims == 0 || t.n_dims > kMaxDims)
        raise("gguf.bad_shape", what + " has " + std::to_string(t.n_dims) + " dimensions (1 to 4 allowed)");
      uint64_t n_elements = 1;
      for (uint32_t d = 0; d < t.n_dims; ++d) {
        t.ne[d] = c.read<uint64_t>(what, "dimension");
        if (t.ne[d] == 0) raise("gguf.bad_shape", what + " has a zero-sized dimension");
        n_elements = checked_mul(n_elements, t.ne[d], what);
      }
      if (n_elements > static_cast<uint64_t>(INT64_MAX))
        raise("gguf.bad_shape", what + " has more than 2^63 elements");
      t.type = static_cast<TensorType>(c.read<uint32_t>(what, "type"));
      auto rb = row_bytes(t.type, t.ne[0]);
      if (!rb) raise(rb.error().code, what + ": " + rb.error().message);
      t.n_bytes = checked_mul(*rb, t.n_rows(), what);
      t.offset = c.read<uint64_t>(what, "offset");
      if (t.offset % f.alignment_ != 0)
        raise("gguf.misaligned", what + " offset " + std::to_string(t.offset) + " is not a multiple of " +
                                     std::to_string(f.alignment_));
      if (!f.tensor_index_.emplace(t.name, f.tensors_.size()).second)
        raise("gguf.duplicate_tensor", what + " appears twice");
      f.tensors_.push_back(std::move(t));
    }
  }

  // Data section bounds, containment and non-overlap of every tensor.
  static void place_tensors(const Cursor& c, File& f) {
    const uint64_t a = f.alignment_;
    f.data_offset_ = checked_add(c.pos(), a - 1, "data section") / a * a;
    if (f.tensors_.empty()) return;  // vocab-only files may end right after the metadata
    if (f.data_offset_ > f.size_)
      raise("gguf.truncated", "file ends before its data section at byte " + std::to_string(f.data_offset_));
    const uint64_t data_len = f.size_ - f.data_offset_;
    for (auto& t : f.tensors_) {
      if (t.offset > data_len || t.n_bytes > data_len - t.offset)
        raise("gguf.out_of_range", "tensor '" + t.name + "' data [" + std::to_string(t.offset) + ", +" +
                                       std::to_string(t.n_bytes) + ") lies outside the " +
                                       std::to_string(data_len) + "-byte data section");
      t.data = f.storage_->data + f.data_offset_ + t.offset;
    }
    std::vector<size_t> order(f.tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return f.tensors_[x].offset < f.tensors_[y].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const auto& prev = f.tensors_[order[k - 1]];
      const auto& next = f.tensors_[order[k]];
      if (prev.offset + prev.n_bytes > next.offset)
        raise("gguf.overlap", "tensors '" + prev.name + "' and '" + next.name + "' overlap");
    }
  }
};

Expected<File> File::from_bytes(std::span<const uint8_t> bytes) {
  auto s = std::make_shared<Storage>();
  // Exactly bytes.size() bytes, so a sanitizer sees any read past the image.
  s->owned = static_cast<uint8_t*>(::operator new[](std::max<size_t>(bytes.size(), 1), Storage::kOwnedAlignment));
  if (!bytes.empty()) std::memcpy(s->owned, bytes.data(), bytes.size());
  s->data = s->owned;
  s->size = bytes.size();
  return Parser::parse(std::move(s));
}

namespace {

// Files from this size on are copied out of the page cache into anonymous memory advised for
// transparent huge pages: decode streams every weight once per token, and with 4 KB pages each
// 4 KB costs a TLB miss (measured on Qwen2.5-0.5B Q8_0, 1 thread: decode 14.8 -> 17.5 tok/s,
// prefill 283 -> 316). Smaller files (tests, vocabularies) stay mapped.
constexpr size_t kCopyToAnonymousBytes = size_t(32) << 20;

// Copies the n bytes at the file mapping `map` into a fresh anonymous mapping and unmaps the
// file; each 64 MB chunk of the file mapping is dropped as soon as it is copied, so the peak
// resident size stays about n. Returns `map` unchanged when no anonymous memory is available.
void* copy_to_huge_pages(void* map, size_t n) {
  void* anon = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (anon == MAP_FAILED) return map;
  madvise(anon, n, MADV_HUGEPAGE);  // advice only: without THP the copy still works
  constexpr size_t kChunk = size_t(64) << 20;
  for (size_t o = 0; o < n; o += kChunk) {
    const size_t len = std::min(kChunk, n - o);
    std::memcpy(static_cast<uint8_t*>(anon) + o, static_cast<const uint8_t*>(map) + o, len);
    madvise(static_cast<uint8_t*>(map) + o, len, MADV_DONTNEED);
  }
  munmap(map, n);
  mprotect(anon, n, PROT_READ);  // the weights are read-only from here on, as the file mapping was
  return anon;
}

}  // namespace

Expected<File> File::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("gguf.io", "cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("gguf.io", "'" + path + "' is not a regular file");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return fail("gguf.truncated", "'" + path + "' is empty");
  }
  void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) return fail("gguf.io", "cannot map '" + path + "': " + std::strerror(map_errno));
  if (static_cast<size_t>(st.st_size) >= kCopyToAnonymousBytes) map = copy_to_huge_pages(map, static_cast<size_t>(st.st_size));
  auto s = std::make_shared<Storage>();
  s->map = map;
  s->data = static_cast<const uint8_t*>(map);
  s->size = static_cast<size_t>(st.st_size);
  auto parsed = Parser::parse(std::move(s));
  if (!parsed) return fail(parsed.error().code, path + ": " + parsed.error().message);
  return parsed;
}

}  // namespace ig::gguf
