// Block layouts of ggml tensor types (the ones whose sizes the loader knows).
#include "inference/gguf/gguf.hpp"

namespace ig::gguf {

namespace {
struct TypeRow {
  TensorType type;
  TypeTraits traits;
};
constexpr TypeRow kTypes[] = {
    {TensorType::F32, {"f32", 1, 4}},       {TensorType::F16, {"f16", 1, 2}},
    {TensorType::Q4_0, {"q4_0", 32, 18}},   {TensorType::Q4_1, {"q4_1", 32, 20}},
    {TensorType::Q5_0, {"q5_0", 32, 22}},   {TensorType::Q5_1, {"q5_1", 32, 24}},
    {TensorType::Q8_0, {"q8_0", 32, 34}},   {TensorType::Q8_1, {"q8_1", 32, 36}},
    {TensorType::Q2_K, {"q2_k", 256, 84}},  {TensorType::Q3_K, {"q3_k", 256, 110}},
    {TensorType::Q4_K, {"q4_k", 256, 144}}, {TensorType::Q5_K, {"q5_k", 256, 176}},
    {TensorType::Q6_K, {"q6_k", 256, 210}}, {TensorType::Q8_K, {"q8_k", 256, 292}},
    {TensorType::I8, {"i8", 1, 1}},         {TensorType::I16, {"i16", 1, 2}},
    {TensorType::I32, {"i32", 1, 4}},       {TensorType::I64, {"i64", 1, 8}},
    {TensorType::F64, {"f64", 1, 8}},       {TensorType::BF16, {"bf16", 1, 2}},
};
}  // namespace

Expected<TypeTraits> type_traits(TensorType t) {
  for (const auto& row : kTypes)
    if (row.type == t) return row.traits;
  return fail("gguf.unsupported_type",
              "unsupported tensor type id " + std::to_string(static_cast<uint32_t>(t)));
}

Expected<TensorType> tensor_type_from_name(std::string_view name) {
  for (const auto& row : kTypes)
    if (row.traits.name == name) return row.type;
  return fail("gguf.unsupported_type", "unknown tensor type name '" + std::string(name) + "'");
}

Expected<uint64_t> row_bytes(TensorType t, uint64_t ne0) {
  IG_TRY_ASSIGN(tr, type_traits(t));
  if (ne0 % tr.block_size != 0)
    return fail("gguf.bad_shape", "row of " + std::to_string(ne0) + " elements is not a multiple of the " +
                                      std::string(tr.name) + " block size " +
                                      std::to_string(tr.block_size));
  return ne0 / tr.block_size * tr.block_bytes;
}

}  // namespace ig::gguf
