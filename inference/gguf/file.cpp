// Typed metadata and tensor lookups on a validated File.
#include "inference/gguf/gguf.hpp"

namespace ig::gguf {

namespace {
Unexpected missing(std::string_view key) {
  return fail("gguf.missing_key", "metadata key '" + std::string(key) + "' is absent");
}

// Prefixes a conversion error with the key it came from.
template <typename T>
Expected<T> keyed(std::string_view key, Expected<T> r) {
  if (r) return r;
  return fail(r.error().code, "metadata '" + std::string(key) + "': " + r.error().message);
}

Expected<const Value*> array_of(const File& f, std::string_view key) {
  const Value* v = f.find(key);
  if (v == nullptr) return missing(key);
  if (v->type != ValueType::ARRAY)
    return fail("gguf.wrong_type", "metadata '" + std::string(key) + "': expected an array, found " +
                                       std::string(value_type_name(v->type)));
  return v;
}
}  // namespace

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

Expected<uint64_t> File::get_uint(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(key);
  return keyed(key, v->to_uint());
}

Expected<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(key);
  return keyed(key, v->to_int());
}

Expected<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(key);
  return keyed(key, v->to_float());
}

Expected<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(key);
  return keyed(key, v->to_bool());
}

Expected<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(key);
  return keyed(key, v->to_string_value());
}

Expected<uint64_t> File::get_uint_or(std::string_view key, uint64_t fallback) const {
  return has(key) ? get_uint(key) : Expected<uint64_t>(fallback);
}

Expected<double> File::get_float_or(std::string_view key, double fallback) const {
  return has(key) ? get_float(key) : Expected<double>(fallback);
}

Expected<bool> File::get_bool_or(std::string_view key, bool fallback) const {
  return has(key) ? get_bool(key) : Expected<bool>(fallback);
}

Expected<std::vector<std::string>> File::get_string_array(std::string_view key) const {
  IG_TRY_ASSIGN(arr, array_of(*this, key));
  if (arr->elem_type != ValueType::STRING)
    return fail("gguf.wrong_type", "metadata '" + std::string(key) + "': expected strings, found " +
                                       std::string(value_type_name(arr->elem_type)));
  std::vector<std::string> out;
  out.reserve(arr->items.size());
  for (const auto& item : arr->items) out.push_back(item.str);
  return out;
}

Expected<std::vector<float>> File::get_float_array(std::string_view key) const {
  IG_TRY_ASSIGN(arr, array_of(*this, key));
  if (arr->elem_type != ValueType::F32 && arr->elem_type != ValueType::F64)
    return fail("gguf.wrong_type", "metadata '" + std::string(key) + "': expected floats, found " +
                                       std::string(value_type_name(arr->elem_type)));
  std::vector<float> out;
  out.reserve(arr->items.size());
  for (const auto& item : arr->items) out.push_back(static_cast<float>(item.f));
  return out;
}

Expected<std::vector<int64_t>> File::get_int_array(std::string_view key) const {
  IG_TRY_ASSIGN(arr, array_of(*this, key));
  std::vector<int64_t> out;
  out.reserve(arr->items.size());
  for (const auto& item : arr->items) {
    IG_TRY_ASSIGN(x, keyed(key, item.to_int()));
    out.push_back(x);
  }
  return out;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Expected<const TensorInfo*> File::get_tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (t == nullptr) return fail("gguf.missing_tensor", "tensor '" + std::string(name) + "' is absent");
  return t;
}

}  // namespace ig::gguf
