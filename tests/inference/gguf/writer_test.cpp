// Writer -> loader round trips over every value type, both versions, custom
// alignment and every tensor layout.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "inference/gguf/gguf.hpp"
#include "inference/gguf/writer.hpp"

namespace {
using ig::gguf::File;
using ig::gguf::TensorType;
using ig::gguf::Value;
using ig::gguf::ValueType;
using ig::gguf::Writer;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t k = 0; k < n; ++k) v[k] = static_cast<uint8_t>(seed + k * 31);
  return v;
}

std::string tensor_name(TensorType t) {
  std::string name = "t";
  name += std::to_string(static_cast<int>(t));
  return name;
}

void fill_all_types(Writer& w) {
  w.set("t.u8", Value::of_u8(250));
  w.set("t.i8", Value::of_i8(-120));
  w.set("t.u16", Value::of_u16(65000));
  w.set("t.i16", Value::of_i16(-32000));
  w.set("t.u32", Value::of_u32(4000000000u));
  w.set("t.i32", Value::of_i32(-2000000000));
  w.set("t.f32", Value::of_f32(0.1f));
  w.set("t.bool", Value::of_bool(true));
  w.set("t.string", Value::of_string(std::string("h\xc3\xa9llo\0x", 8)));
  w.set("t.u64", Value::of_u64(std::numeric_limits<uint64_t>::max()));
  w.set("t.i64", Value::of_i64(std::numeric_limits<int64_t>::min()));
  w.set("t.f64", Value::of_f64(-1.0 / 3.0));
  w.set("t.empty_array", Value::of_array(ValueType::U8, {}));
  w.set("t.nested", Value::of_array(ValueType::ARRAY,
                                    {Value::of_array(ValueType::I16, {Value::of_i16(1), Value::of_i16(-2)}),
                                     Value::of_array(ValueType::STRING, {Value::of_string("x")})}));
}

void check_all_types(const File& f) {
  EXPECT_EQ(f.find("t.u8")->type, ValueType::U8);
  EXPECT_EQ(*f.get_uint("t.u8"), 250u);
  EXPECT_EQ(*f.get_int("t.i8"), -120);
  EXPECT_EQ(*f.get_uint("t.u16"), 65000u);
  EXPECT_EQ(*f.get_int("t.i16"), -32000);
  EXPECT_EQ(*f.get_uint("t.u32"), 4000000000u);
  EXPECT_EQ(*f.get_int("t.i32"), -2000000000);
  EXPECT_EQ(*f.get_float("t.f32"), static_cast<double>(0.1f));
  EXPECT_EQ(*f.get_bool("t.bool"), true);
  EXPECT_EQ(*f.get_string("t.string"), std::string("h\xc3\xa9llo\0x", 8));
  EXPECT_EQ(*f.get_uint("t.u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f.get_int("t.u64").error().code, "gguf.out_of_range");
  EXPECT_EQ(*f.get_int("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.get_uint("t.i8").error().code, "gguf.out_of_range");
  EXPECT_EQ(*f.get_float("t.f64"), -1.0 / 3.0);
  EXPECT_EQ(f.find("t.empty_array")->items.size(), 0u);
  const Value* nested = f.find("t.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->elem_type, ValueType::ARRAY);
  ASSERT_EQ(nested->items.size(), 2u);
  EXPECT_EQ(nested->items[0].elem_type, ValueType::I16);
  EXPECT_EQ(nested->items[0].items[1].i, -2);
  EXPECT_EQ(nested->items[1].items[0].str, "x");
  EXPECT_EQ(nested->render(), "[[1, -2], [\"x\"]]");
}
}  // namespace

TEST(GgufWriter, EveryValueTypeRoundTripsInBothVersions) {
  for (uint32_t version : {2u, 3u}) {
    Writer w(version);
    fill_all_types(w);
    auto bytes = w.to_bytes();
    ASSERT_TRUE(bytes.has_value());
    auto f = File::from_bytes(*bytes);
    ASSERT_TRUE(f.has_value()) << f.error().to_string();
    EXPECT_EQ(f->version(), version);
    EXPECT_EQ(f->metadata().size(), 14u);
    EXPECT_EQ(f->metadata()[0].key, "t.u8");  // file order is kept
    check_all_types(*f);
  }
}

TEST(GgufWriter, TensorsOfEveryLayoutWithCustomAlignment) {
  Writer w(3, 64);
  const std::vector<std::pair<TensorType, uint64_t>> kinds = {
      {TensorType::F32, 4 * 3 * 7}, {TensorType::F16, 2 * 3 * 7}, {TensorType::Q8_0, 34 * 3 * 7},
      {TensorType::Q4_0, 18 * 3 * 7}, {TensorType::Q6_K, 210 * 3 * 7}};
  uint8_t seed = 1;
  for (const auto& [type, bytes] : kinds) {
    const uint64_t ne0 = (type == TensorType::Q6_K) ? 256 : (type == TensorType::F32 || type == TensorType::F16) ? 1 : 32;
    ASSERT_TRUE(w.add_tensor(tensor_name(type), type, {ne0, 3, 7},
                             pattern(bytes, seed++)));
  }
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.has_value());
  auto f = File::from_bytes(*bytes);
  ASSERT_TRUE(f.has_value()) << f.error().to_string();
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(*f->get_uint("general.alignment"), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  seed = 1;
  for (const auto& [type, nbytes] : kinds) {
    const auto* t = f->find_tensor(tensor_name(type));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type, type);
    EXPECT_EQ(t->n_dims, 3u);
    EXPECT_EQ(t->ne[1], 3u);
    EXPECT_EQ(t->ne[2], 7u);
    EXPECT_EQ(t->offset % 64, 0u);
    EXPECT_EQ(t->n_bytes, nbytes);
    const auto want = pattern(nbytes, seed++);
    EXPECT_EQ(std::memcmp(t->data, want.data(), nbytes), 0);
  }
}

TEST(GgufWriter, FileOnDiskMatchesInMemoryImage) {
  Writer w;
  fill_all_types(w);
  ASSERT_TRUE(w.add_tensor("a", TensorType::F32, {5}, pattern(20, 3)));
  ASSERT_TRUE(w.add_tensor("b", TensorType::Q8_0, {64, 2}, pattern(136, 9)));
  const auto path = std::filesystem::temp_directory_path() / ("ig_gguf_writer_" + std::to_string(::getpid()) + ".gguf");
  ASSERT_TRUE(w.write_file(path.string()));
  auto f = File::open(path.string());
  ASSERT_TRUE(f.has_value()) << f.error().to_string();
  const auto mem = *w.to_bytes();
  ASSERT_EQ(f->raw().size(), mem.size());
  EXPECT_EQ(std::memcmp(f->raw().data(), mem.data(), mem.size()), 0);
  check_all_types(*f);
  EXPECT_EQ((*f->get_tensor("b"))->n_bytes, 136u);
  std::filesystem::remove(path);
}

TEST(GgufWriter, RejectsInconsistentInput) {
  Writer w;
  EXPECT_EQ(w.add_tensor("x", TensorType::F32, {4}, pattern(15, 0)).error().code, "gguf.bad_shape");
  EXPECT_EQ(w.add_tensor("x", TensorType::Q8_0, {31}, pattern(34, 0)).error().code, "gguf.bad_shape");
  EXPECT_EQ(w.add_tensor("x", TensorType::F32, {}, {}).error().code, "gguf.bad_shape");
  EXPECT_EQ(w.add_tensor("x", TensorType::F32, {1, 1, 1, 1, 1}, pattern(4, 0)).error().code, "gguf.bad_shape");
  EXPECT_EQ(w.add_tensor("x", static_cast<TensorType>(77), {4}, pattern(16, 0)).error().code,
            "gguf.unsupported_type");
  ASSERT_TRUE(w.add_tensor("x", TensorType::F32, {4}, pattern(16, 0)));
  EXPECT_EQ(w.add_tensor("x", TensorType::F32, {4}, pattern(16, 0)).error().code, "gguf.duplicate_tensor");
  w.set("mixed", Value::of_array(ValueType::U8, {Value::of_u8(1), Value::of_string("no")}));
  EXPECT_EQ(w.to_bytes().error().code, "gguf.wrong_type");
  Writer v1(1);
  EXPECT_EQ(v1.to_bytes().error().code, "gguf.unsupported_version");
  EXPECT_EQ(Writer().write_file("/nonexistent/dir/x.gguf").error().code, "gguf.io");
}

TEST(GgufTypes, TraitsAndRowSizes) {
  EXPECT_EQ(ig::gguf::type_traits(TensorType::Q4_0)->block_bytes, 18u);
  EXPECT_EQ(ig::gguf::type_traits(TensorType::Q8_0)->block_size, 32u);
  EXPECT_EQ(ig::gguf::type_traits(static_cast<TensorType>(4)).error().code, "gguf.unsupported_type");
  EXPECT_EQ(*ig::gguf::row_bytes(TensorType::F16, 7), 14u);
  EXPECT_EQ(*ig::gguf::row_bytes(TensorType::Q4_0, 896), 28u * 18u);
  EXPECT_EQ(ig::gguf::row_bytes(TensorType::Q4_0, 33).error().code, "gguf.bad_shape");
  EXPECT_EQ(*ig::gguf::tensor_type_from_name("q8_0"), TensorType::Q8_0);
  EXPECT_FALSE(ig::gguf::tensor_type_from_name("q9_9").has_value());
}
