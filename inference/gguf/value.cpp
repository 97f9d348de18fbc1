// Metadata values: factories, checked conversions and a short rendering.
#include <cmath>
#include <cstdio>
#include <limits>

#include "inference/gguf/gguf.hpp"

namespace ig::gguf {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::U8: return "u8";
    case ValueType::I8: return "i8";
    case ValueType::U16: return "u16";
    case ValueType::I16: return "i16";
    case ValueType::U32: return "u32";
    case ValueType::I32: return "i32";
    case ValueType::F32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::U64: return "u64";
    case ValueType::I64: return "i64";
    case ValueType::F64: return "f64";
  }
  return "?";
}

namespace {
Value unsigned_value(ValueType t, uint64_t v) {
  Value out;
  out.type = t;
  out.u = v;
  return out;
}
Value signed_value(ValueType t, int64_t v) {
  Value out;
  out.type = t;
  out.i = v;
  return out;
}
bool is_unsigned(ValueType t) {
  return t == ValueType::U8 || t == ValueType::U16 || t == ValueType::U32 || t == ValueType::U64;
}
bool is_signed(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}
Unexpected wrong_kind(const Value& v, std::string_view wanted) {
  return fail("gguf.wrong_type", "expected " + std::string(wanted) + ", found " +
                                     std::string(value_type_name(v.type)));
}
}  // namespace

Value Value::of_u8(uint8_t v) { return unsigned_value(ValueType::U8, v); }
Value Value::of_u16(uint16_t v) { return unsigned_value(ValueType::U16, v); }
Value Value::of_u32(uint32_t v) { return unsigned_value(ValueType::U32, v); }
Value Value::of_u64(uint64_t v) { return unsigned_value(ValueType::U64, v); }
Value Value::of_i8(int8_t v) { return signed_value(ValueType::I8, v); }
Value Value::of_i16(int16_t v) { return signed_value(ValueType::I16, v); }
Value Value::of_i32(int32_t v) { return signed_value(ValueType::I32, v); }
Value Value::of_i64(int64_t v) { return signed_value(ValueType::I64, v); }

Value Value::of_f32(float v) {
  Value out;
  out.type = ValueType::F32;
  out.f = v;
  return out;
}
Value Value::of_f64(double v) {
  Value out;
  out.type = ValueType::F64;
  out.f = v;
  return out;
}
Value Value::of_bool(bool v) {
  Value out;
  out.type = ValueType::BOOL;
  out.b = v;
  return out;
}
Value Value::of_string(std::string v) {
  Value out;
  out.type = ValueType::STRING;
  out.str = std::move(v);
  return out;
}
Value Value::of_array(ValueType elem_type, std::vector<Value> items) {
  Value out;
  out.type = ValueType::ARRAY;
  out.elem_type = elem_type;
  out.items = std::move(items);
  return out;
}

bool Value::is_integer() const { return is_unsigned(type) || is_signed(type); }

Expected<uint64_t> Value::to_uint() const {
  if (is_unsigned(type)) return u;
  if (is_signed(type)) {
    if (i < 0) return fail("gguf.out_of_range", "negative value " + std::to_string(i));
    return static_cast<uint64_t>(i);
  }
  return wrong_kind(*this, "an integer");
}

Expected<int64_t> Value::to_int() const {
  if (is_signed(type)) return i;
  if (is_unsigned(type)) {
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return fail("gguf.out_of_range", "value " + std::to_string(u) + " exceeds int64");
    return static_cast<int64_t>(u);
  }
  return wrong_kind(*this, "an integer");
}

Expected<double> Value::to_float() const {
  if (is_float()) return f;
  if (is_unsigned(type)) return static_cast<double>(u);
  if (is_signed(type)) return static_cast<double>(i);
  return wrong_kind(*this, "a number");
}

Expected<bool> Value::to_bool() const {
  if (type != ValueType::BOOL) return wrong_kind(*this, "bool");
  return b;
}

Expected<std::string> Value::to_string_value() const {
  if (type != ValueType::STRING) return wrong_kind(*this, "string");
  return str;
}

namespace {
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}
}  // namespace

std::string Value::render(size_t max_items) const {
  if (is_unsigned(type)) return std::to_string(u);
  if (is_signed(type)) return std::to_string(i);
  switch (type) {
    case ValueType::F32:
    case ValueType::F64: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.9g", f);
      return buf;
    }
    case ValueType::BOOL: return b ? "true" : "false";
    case ValueType::STRING: return quoted(str);
    case ValueType::ARRAY: {
      std::string out = "[";
      const size_t shown = std::min(items.size(), max_items);
      for (size_t k = 0; k < shown; ++k) {
        if (k) out += ", ";
        out += items[k].render(max_items);
      }
      if (shown < items.size())
        out += ", ... (" + std::to_string(items.size()) + " " +
               std::string(value_type_name(elem_type)) + ")";
      return out + "]";
    }
    default: return "?";
  }
}

}  // namespace ig::gguf
