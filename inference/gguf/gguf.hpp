// GGUF model files (versions 2 and 3): typed metadata and memory-mapped tensors.
//
// A File is an immutable, validated view of one GGUF file. Opening checks every
// count, length, offset and size against the file's real extent, so no later
// accessor can read outside the mapping; a bad file yields an ig::Error with a
// "gguf.*" code instead. Copies of a File share the same mapping.
//
//   IG_TRY_ASSIGN(f, ig::gguf::File::open("model.gguf"));
//   IG_TRY_ASSIGN(dim, f.get_uint("llama.embedding_length"));
//   const ig::gguf::TensorInfo* w = f.find_tensor("blk.0.attn_q.weight");
//   // w->data points at w->n_bytes bytes of w->type blocks, rows of ne[0] elements.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"
#include "common/sha256.hpp"

namespace ig::gguf {

inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxDims = 4;

// Metadata value types, numbered as in the GGUF specification.
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
std::string_view value_type_name(ValueType t);

// Tensor element types, numbered as ggml's ggml_type. The loader accepts every
// type whose block layout it knows (see type_traits); compute code supports
// F32, F16, Q8_0 and Q4_0 and must check `type` itself.
enum class TensorType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
};

struct TypeTraits {
  std::string_view name;   // "f32", "q8_0", ...
  uint32_t block_size;     // elements per block (1 for plain types)
  uint32_t block_bytes;    // bytes per block
};
// Layout of a tensor type; an error for ids the loader does not know.
Expected<TypeTraits> type_traits(TensorType t);
Expected<TensorType> tensor_type_from_name(std::string_view name);  // "q4_0" -> Q4_0
// Bytes of one row of `ne0` elements (ne0 must be a multiple of the block size).
Expected<uint64_t> row_bytes(TensorType t, uint64_t ne0);

// One metadata value. Scalars live in u/i/f/b/str by kind; arrays hold their
// element type and items (arrays may nest). Build values with the factories.
struct Value {
  ValueType type = ValueType::U8;
  ValueType elem_type = ValueType::U8;  // ARRAY only
  uint64_t u = 0;                       // U8, U16, U32, U64
  int64_t i = 0;                        // I8, I16, I32, I64
  double f = 0.0;                       // F32 (exactly widened), F64
  bool b = false;                       // BOOL
  std::string str;                      // STRING
  std::vector<Value> items;             // ARRAY

  static Value of_u8(uint8_t v);
  static Value of_i8(int8_t v);
  static Value of_u16(uint16_t v);
  static Value of_i16(int16_t v);
  static Value of_u32(uint32_t v);
  static Value of_i32(int32_t v);
  static Value of_u64(uint64_t v);
  static Value of_i64(int64_t v);
  static Value of_f32(float v);
  static Value of_f64(double v);
  static Value of_bool(bool v);
  static Value of_string(std::string v);
  static Value of_array(ValueType elem_type, std::vector<Value> items);

  bool is_integer() const;
  bool is_float() const { return type == ValueType::F32 || type == ValueType::F64; }
  // Checked conversions: an error if the kind differs or the value does not fit.
  Expected<uint64_t> to_uint() const;       // any integer type, value >= 0
  Expected<int64_t> to_int() const;         // any integer type, value fits int64
  Expected<double> to_float() const;        // F32, F64 or any integer type
  Expected<bool> to_bool() const;
  Expected<std::string> to_string_value() const;
  // Short human rendering (arrays abbreviated to their first `max_items`).
  std::string render(size_t max_items = 8) const;
};

struct KeyValue {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  TensorType type = TensorType::F32;
  uint32_t n_dims = 0;
  std::array<uint64_t, kMaxDims> ne{1, 1, 1, 1};  // ggml order: ne[0] is the row length
  uint64_t offset = 0;                           // relative to the data section
  uint64_t n_bytes = 0;
  // Into the mapping (or the owned copy); n_bytes readable, aligned in memory to
  // File::alignment() (32 by default; from_bytes copies guarantee up to 64).
  const uint8_t* data = nullptr;

  uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  uint64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  std::span<const uint8_t> bytes() const { return {data, static_cast<size_t>(n_bytes)}; }
};

class File {
 public:
  // Memory-maps and validates a GGUF file. Files of 32 MB or more are then copied into anonymous
  // memory advised for transparent huge pages (the file mapping dropped chunk by chunk), which
  // spares decode a TLB miss per 4 KB of weights; smaller ones stay mapped.
  static Expected<File> open(const std::string& path);
  // Validates an in-memory image (copied into a 64-byte-aligned buffer of exactly its size).
  static Expected<File> from_bytes(std::span<const uint8_t> bytes);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute start of the data section
  uint64_t file_size() const { return size_; }
  std::span<const uint8_t> raw() const;                   // the whole file image (as rewritten)

  // SHA-256 of the file image as opened: the on-chain model id (receipt::model_id). Computed
  // once, before any rewrite_tensor_data, and shared by the copies of this File.
  const Hash32& image_sha256() const;
  // Lets `rewrite` permute tensor t's n_bytes in place (engine::Model regroups Q4_0 matrices
  // for the CPU kernels, kernels::Layout): image_sha256 is taken first, so it stays the file's,
  // and every copy of this File sees the new bytes. Errors: gguf.io when the memory cannot be
  // made writable (the image is read-only again afterwards either way).
  Status rewrite_tensor_data(const TensorInfo& t, const std::function<void(uint8_t*)>& rewrite);

  // Metadata in file order, and lookups by key.
  const std::vector<KeyValue>& metadata() const { return kvs_; }
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  Expected<uint64_t> get_uint(std::string_view key) const;
  Expected<int64_t> get_int(std::string_view key) const;
  Expected<double> get_float(std::string_view key) const;
  Expected<bool> get_bool(std::string_view key) const;
  Expected<std::string> get_string(std::string_view key) const;
  // Arrays with a required element kind (integers of any width for ints, F32/F64 for floats).
  Expected<std::vector<std::string>> get_string_array(std::string_view key) const;
  Expected<std::vector<float>> get_float_array(std::string_view key) const;
  Expected<std::vector<int64_t>> get_int_array(std::string_view key) const;
  // Defaults for optional keys (a present key of the wrong kind is still an error).
  Expected<uint64_t> get_uint_or(std::string_view key, uint64_t fallback) const;
  Expected<double> get_float_or(std::string_view key, double fallback) const;
  Expected<bool> get_bool_or(std::string_view key, bool fallback) const;

  // Tensors in file order, and lookups by name.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  Expected<const TensorInfo*> get_tensor(std::string_view name) const;  // error if absent

  // general.architecture (an error if absent).
  Expected<std::string> architecture() const { return get_string("general.architecture"); }

 private:
  struct Storage;
  friend class Parser;
  std::shared_ptr<const Storage> storage_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  uint64_t size_ = 0;
  std::vector<KeyValue> kvs_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// Hyper-parameters of a llama / qwen2 / qwen3 model, read from "<arch>.*" keys as
// llama.cpp reads them (src/llama-model.cpp, llama_model::load_hparams, at c392e50; qwen3
// as upstream's load_arch_hparams for LLM_ARCH_QWEN3):
//   required: context_length, embedding_length, block_count, feed_forward_length,
//             attention.head_count, attention.layer_norm_rms_epsilon
//   optional: attention.head_count_kv (= head_count), attention.key_length /
//             value_length (= embedding_length / head_count; must be equal),
//             rope.dimension_count (= key_length; llama: must equal it),
//             rope.freq_base (10000), rope.scaling.type ("linear" when absent, as
//             llama.cpp; "none" and "linear" supported, "yarn" and "longrope" refused),
//             rope.scaling.factor or rope.scale_linear (freq_scale = 1/factor; ignored
//             for type "none", as llama_new_context_with_model does),
//             rope.scaling.attn_factor (1; scales cos/sin), attention.sliding_window
//             (refused when smaller than context_length: not implemented).
// Anything else an architecture declares that changes the math is refused by name.
struct ModelParams {
  std::string arch;          // "llama", "qwen2" or "qwen3"
  uint32_t n_embd = 0;       // embedding_length
  uint32_t n_layer = 0;      // block_count
  uint32_t n_head = 0;       // attention.head_count
  uint32_t n_head_kv = 0;    // attention.head_count_kv
  uint32_t n_ff = 0;         // feed_forward_length
  uint32_t n_ctx = 0;        // context_length
  uint32_t n_vocab = 0;      // tokenizer.ggml.tokens length (or token_embd ne[1])
  uint32_t head_dim = 0;     // attention.key_length (default n_embd / n_head)
  uint32_t rope_dim = 0;     // rope.dimension_count
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;   // 1 / rope.scaling.factor (linear scaling)
  float rope_attn_factor = 1.0f;  // rope.scaling.attn_factor
  std::string rope_scaling = "linear";  // rope.scaling.type as read (llama.cpp's default)
  float rms_eps = 1e-5f;     // attention.layer_norm_rms_epsilon
};
Expected<ModelParams> read_model_params(const File& f);

}  // namespace ig::gguf
