// Hostile GGUF files. This executable compiles the loader with ASan + UBSan, so
// any out-of-bounds read, overflow or leak while rejecting these fails the test.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>

#include "inference/gguf/gguf.hpp"
#include "inference/gguf/writer.hpp"

namespace {
using ig::gguf::File;
using ig::gguf::Value;
using ig::gguf::ValueType;
using Bytes = std::vector<uint8_t>;

const std::string kData = INFERGRID_SHARED_DATA;
constexpr size_t kStoriesDataStart = 14176;

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const Bytes& stories() {
  static const Bytes b = read_file(kData + "/models/stories260K.gguf");
  return b;
}

ig::Expected<File> parse(const Bytes& b, size_t n) { return File::from_bytes(std::span<const uint8_t>(b.data(), n)); }
ig::Expected<File> parse(const Bytes& b) { return parse(b, b.size()); }

size_t find(const Bytes& b, const std::string& needle, size_t from = 0) {
  auto it = std::search(b.begin() + static_cast<long>(from), b.end(), needle.begin(), needle.end());
  EXPECT_NE(it, b.end()) << needle;
  return static_cast<size_t>(it - b.begin());
}

template <typename T>
Bytes patched(const Bytes& b, size_t pos, T value) {
  Bytes out = b;
  std::memcpy(out.data() + pos, &value, sizeof(T));
  return out;
}

// Position just after a tensor's name in the tensor-info section.
size_t tensor_info(const Bytes& b, const std::string& name) {
  const size_t kv_end = find(b, "llama.attention.layer_norm_rms_epsilon");
  return find(b, name, kv_end) + name.size();
}

std::string code(const ig::Expected<File>& f) { return f ? "ok" : f.error().code; }

// Metadata value position: just after the key and its u32 type.
size_t value_of(const Bytes& b, const std::string& key) { return find(b, key) + key.size() + 4; }
}  // namespace

TEST(GgufCorrupt, IntactFilesParse) {
  ASSERT_EQ(stories().size(), 1185376u);
  EXPECT_EQ(code(parse(stories())), "ok");
}

TEST(GgufCorrupt, TruncatedAtEveryHeaderOffsetAndSampledDataOffsets) {
  const Bytes& b = stories();
  const std::set<std::string> allowed = {"gguf.truncated", "gguf.bad_length", "gguf.bad_count", "gguf.out_of_range"};
  std::vector<size_t> cuts;
  for (size_t n = 0; n <= kStoriesDataStart + 64; ++n) cuts.push_back(n);
  for (size_t n = kStoriesDataStart + 64; n < b.size(); n += 997) cuts.push_back(n);
  cuts.push_back(b.size() - 1);
  for (size_t n : cuts) {
    auto f = parse(b, n);
    ASSERT_FALSE(f.has_value()) << "truncated to " << n << " bytes parsed";
    ASSERT_TRUE(allowed.count(f.error().code)) << n << ": " << f.error().to_string();
    ASSERT_FALSE(f.error().message.empty());
  }
}

TEST(GgufCorrupt, TruncatedVocabOnlyFile) {
  const Bytes b = read_file(kData + "/tokenizers/ggml-vocab-llama-spm.gguf");
  ASSERT_EQ(code(parse(b)), "ok");
  std::mt19937 rng(11);
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 600; ++n) cuts.push_back(n);
  for (int k = 0; k < 150; ++k) cuts.push_back(rng() % b.size());
  for (size_t n : cuts) ASSERT_FALSE(parse(b, n).has_value()) << n;
}

TEST(GgufCorrupt, TruncatedFilesThroughMmap) {
  const Bytes& b = stories();
  const auto path = std::filesystem::temp_directory_path() / ("ig_gguf_trunc_" + std::to_string(::getpid()));
  for (size_t n : {size_t{1}, size_t{23}, size_t{24}, size_t{5000}, kStoriesDataStart - 1, kStoriesDataStart + 5,
                   b.size() / 2, b.size() - 1}) {
    {
      std::ofstream os(path, std::ios::binary | std::ios::trunc);
      os.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(n));
    }
    auto f = File::open(path.string());
    ASSERT_FALSE(f.has_value()) << n;
    EXPECT_NE(f.error().message.find(path.string()), std::string::npos);  // names the file
  }
  { std::ofstream os(path, std::ios::binary | std::ios::trunc); }
  EXPECT_EQ(File::open(path.string()).error().code, "gguf.truncated");  // empty file
  std::filesystem::remove(path);
}

TEST(GgufCorrupt, HeaderFields) {
  const Bytes& b = stories();
  EXPECT_EQ(code(parse(patched<uint8_t>(b, 0, 'X'))), "gguf.bad_magic");
  EXPECT_EQ(code(parse(patched<uint32_t>(b, 4, 1))), "gguf.unsupported_version");
  EXPECT_EQ(code(parse(patched<uint32_t>(b, 4, 4))), "gguf.unsupported_version");
  EXPECT_EQ(code(parse(patched<uint32_t>(b, 4, 0x03000000))), "gguf.unsupported_version");
  EXPECT_EQ(code(parse(patched<uint32_t>(b, 4, 2))), "ok");  // v2 has the same layout
  EXPECT_EQ(code(parse(patched<uint64_t>(b, 8, uint64_t{1} << 63))), "gguf.bad_count");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, 16, ~uint64_t{0}))), "gguf.bad_count");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, 16, 1000000))), "gguf.bad_count");
  // Counts that fit the file but disagree with its contents still fail cleanly.
  EXPECT_NE(code(parse(patched<uint64_t>(b, 8, 49))), "ok");
  EXPECT_NE(code(parse(patched<uint64_t>(b, 16, 20))), "ok");
  EXPECT_NE(code(parse(patched<uint64_t>(b, 16, 18))), "ok");
}

TEST(GgufCorrupt, MetadataFields) {
  const Bytes& b = stories();
  EXPECT_EQ(code(parse(patched<uint64_t>(b, 24, ~uint64_t{0} / 2))), "gguf.bad_length");  // first key length
  const size_t tokens = value_of(b, "tokenizer.ggml.tokens");             // -> array element type
  EXPECT_EQ(code(parse(patched<uint32_t>(b, tokens, 99))), "gguf.bad_value_type");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, tokens + 4, ~uint64_t{0}))), "gguf.bad_count");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, tokens + 4, 1u << 30))), "gguf.bad_count");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, tokens + 12, uint64_t{1} << 40))), "gguf.bad_length");  // "<unk>" length
  EXPECT_EQ(code(parse(patched<uint32_t>(b, tokens - 4, 13))), "gguf.bad_value_type");  // the key's value type
  // The tokens array read as u64s no longer lines up with what follows.
  EXPECT_NE(code(parse(patched<uint32_t>(b, tokens, 10))), "ok");
  Bytes dup = b;
  const size_t eos = find(dup, "tokenizer.ggml.eos_token_id");
  std::memcpy(dup.data() + eos, "tokenizer.ggml.bos_token_id", 27);
  EXPECT_EQ(code(parse(dup)), "gguf.duplicate_key");
}

TEST(GgufCorrupt, TensorInfoFields) {
  const Bytes& b = stories();
  const size_t emb = tensor_info(b, "token_embd.weight");  // -> n_dims, ne0, ne1, type, offset
  EXPECT_EQ(code(parse(patched<uint32_t>(b, emb, 5))), "gguf.bad_shape");
  EXPECT_EQ(code(parse(patched<uint32_t>(b, emb, 0))), "gguf.bad_shape");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, emb + 4, 0))), "gguf.bad_shape");
  Bytes overflow = patched<uint64_t>(b, emb + 4, uint64_t{1} << 40);
  overflow = patched<uint64_t>(overflow, emb + 12, uint64_t{1} << 40);
  EXPECT_EQ(code(parse(overflow)), "gguf.bad_shape");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, emb + 4, uint64_t{1} << 62))), "gguf.bad_shape");  // bytes overflow
  EXPECT_EQ(code(parse(patched<uint32_t>(b, emb + 20, 99))), "gguf.unsupported_type");
  EXPECT_EQ(code(parse(patched<uint32_t>(b, emb + 20, 4))), "gguf.unsupported_type");  // removed Q4_2
  EXPECT_EQ(code(parse(patched<uint32_t>(b, emb + 20, 12))), "gguf.bad_shape");        // Q4_K needs 256 | ne0
  EXPECT_EQ(code(parse(patched<uint64_t>(b, emb + 24, 1))), "gguf.misaligned");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, emb + 24, uint64_t{1} << 40))), "gguf.out_of_range");
  EXPECT_EQ(code(parse(patched<uint64_t>(b, emb + 24, ~uint64_t{31}))), "gguf.out_of_range");
  const size_t norm = tensor_info(b, "output_norm.weight");  // 1 dim: n_dims, ne0, type, offset
  EXPECT_EQ(code(parse(patched<uint64_t>(b, norm + 16, 0))), "gguf.overlap");
  const size_t last = tensor_info(b, "blk.4.ffn_norm.weight");
  uint64_t last_off;
  std::memcpy(&last_off, b.data() + last + 16, 8);
  EXPECT_EQ(code(parse(patched<uint64_t>(b, last + 16, last_off + 32))), "gguf.out_of_range");
  Bytes dup = b;
  const size_t k = tensor_info(dup, "blk.0.attn_k.weight") - 19;
  std::memcpy(dup.data() + k, "blk.0.attn_q.weight", 19);
  EXPECT_EQ(code(parse(dup)), "gguf.duplicate_tensor");
}

TEST(GgufCorrupt, ValuesOnlyTheWriterCanMisstate) {
  ig::gguf::Writer w;
  w.set("flag", Value::of_bool(true));
  Bytes good = *w.to_bytes();
  ASSERT_EQ(code(parse(good)), "ok");
  EXPECT_EQ(code(parse(patched<uint8_t>(good, good.size() - 1, 2))), "gguf.bad_value");

  ig::gguf::Writer a(3, 64);
  Bytes aligned = *a.to_bytes();
  const size_t at = value_of(aligned, "general.alignment");
  EXPECT_EQ(code(parse(patched<uint32_t>(aligned, at, 3))), "gguf.bad_alignment");
  EXPECT_EQ(code(parse(patched<uint32_t>(aligned, at, 0))), "gguf.bad_alignment");
  ig::gguf::Writer wide;
  wide.set("general.alignment", Value::of_u64(32));
  EXPECT_EQ(code(parse(*wide.to_bytes())), "gguf.bad_alignment");

  Value deep = Value::of_array(ValueType::U8, {Value::of_u8(1)});
  for (int k = 0; k < 9; ++k) deep = Value::of_array(ValueType::ARRAY, {deep});
  ig::gguf::Writer nested;
  nested.set("deep", deep);
  EXPECT_EQ(code(parse(*nested.to_bytes())), "gguf.bad_value");
}

TEST(GgufCorrupt, RandomByteFlipsNeverCrash) {
  const Bytes& b = stories();
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    Bytes m(b.begin(), b.begin() + static_cast<long>(kStoriesDataStart));
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) m[rng() % m.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    m.insert(m.end(), b.begin() + static_cast<long>(kStoriesDataStart), b.end());
    auto f = parse(m);
    if (!f) {
      ++rejected;
      ASSERT_EQ(f.error().code.rfind("gguf.", 0), 0u) << f.error().to_string();
    } else {
      for (const auto& t : f->tensors())  // whatever parsed must be readable in full
        ASSERT_LE(t.data + t.n_bytes, f->raw().data() + f->raw().size());
    }
  }
  EXPECT_GT(rejected, 0);
}

// Files that parse but describe a model we do not run: read_model_params names what is wrong
// (architecture, missing key, unsupported value), under the same sanitizers.
TEST(GgufCorrupt, HyperParametersNameWhatIsWrong) {
  const Bytes& b = stories();
  auto params_error = [](const Bytes& bytes) {
    auto f = parse(bytes);
    EXPECT_TRUE(f.has_value());
    if (!f) return ig::Error{"parse", f.error().to_string()};
    auto p = ig::gguf::read_model_params(*f);
    return p ? ig::Error{"ok", ""} : p.error();
  };
  EXPECT_EQ(params_error(b).code, "ok");
  // general.architecture "llama" -> "gemma" (same length): an architecture we do not run.
  Bytes arch = b;
  const size_t av = value_of(arch, "general.architecture") + 8;  // after the string's u64 length
  std::memcpy(arch.data() + av, "gemma", 5);
  auto e = params_error(arch);
  EXPECT_EQ(e.code, "gguf.unsupported_arch");
  EXPECT_NE(e.message.find("gemma"), std::string::npos) << e.message;
  // A required key renamed away: named in the error.
  for (const std::string key : {"llama.attention.layer_norm_rms_epsilon", "llama.embedding_length",
                                "llama.block_count", "llama.feed_forward_length", "llama.context_length",
                                "llama.attention.head_count"}) {
    Bytes missing = b;
    const size_t pos = find(missing, key);
    missing[pos + key.size() - 1] = 'X';
    e = params_error(missing);
    EXPECT_EQ(e.code, "gguf.missing_key") << key;
    EXPECT_NE(e.message.find(key), std::string::npos) << e.message;
  }
  // Values a model cannot have.
  Bytes zero_heads = patched<uint32_t>(b, value_of(b, "llama.attention.head_count_kv"), 0);
  EXPECT_EQ(params_error(zero_heads).code, "gguf.bad_hparam");
  Bytes odd_kv = patched<uint32_t>(b, value_of(b, "llama.attention.head_count_kv"), 3);  // 8 % 3 != 0
  EXPECT_EQ(params_error(odd_kv).code, "gguf.bad_hparam");
  Bytes rot = patched<uint32_t>(b, value_of(b, "llama.rope.dimension_count"), 4);  // != head_dim 8
  e = params_error(rot);
  EXPECT_EQ(e.code, "gguf.bad_hparam");
  EXPECT_NE(e.message.find("rope.dimension_count"), std::string::npos) << e.message;
}

// Keys only a writer can add: RoPE scaling types we do not run, windows, experts.
TEST(GgufCorrupt, UnsupportedHyperParameterKeysAreNamed) {
  auto stories_file = parse(stories());
  ASSERT_TRUE(stories_file.has_value());
  auto with = [&](const std::string& key, Value v) {
    ig::gguf::Writer w;
    for (const auto& kv : stories_file->metadata()) w.set(kv.key, kv.value);
    w.set(key, std::move(v));
    for (const auto& t : stories_file->tensors())
      EXPECT_TRUE(w.add_tensor(t.name, t.type, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                               Bytes(t.data, t.data + t.n_bytes)));
    auto bytes = w.to_bytes();
    EXPECT_TRUE(bytes.has_value());
    auto f = File::from_bytes(*bytes);
    EXPECT_TRUE(f.has_value());
    auto p = ig::gguf::read_model_params(*f);
    return p ? ig::Error{"ok", ""} : p.error();
  };
  auto e = with("llama.rope.scaling.type", Value::of_string("yarn"));
  EXPECT_EQ(e.code, "gguf.unsupported_rope_scaling");
  EXPECT_NE(e.message.find("llama.rope.scaling.type"), std::string::npos) << e.message;
  EXPECT_EQ(with("llama.rope.scaling.type", Value::of_string("longrope")).code, "gguf.unsupported_rope_scaling");
  EXPECT_EQ(with("llama.rope.scaling.type", Value::of_string("")).code, "gguf.bad_hparam");
  EXPECT_EQ(with("llama.rope.scaling.type", Value::of_u32(1)).code, "gguf.wrong_type");
  EXPECT_EQ(with("llama.rope.scaling.factor", Value::of_f32(-2.0f)).code, "gguf.bad_hparam");
  EXPECT_EQ(with("llama.rope.scaling.factor", Value::of_f32(std::numeric_limits<float>::infinity())).code,
            "gguf.bad_hparam");
  EXPECT_EQ(with("llama.rope.scaling.attn_factor", Value::of_f32(0.0f)).code, "gguf.bad_hparam");
  EXPECT_EQ(with("llama.rope.freq_base", Value::of_f32(std::numeric_limits<float>::quiet_NaN())).code,
            "gguf.bad_hparam");
  e = with("llama.attention.sliding_window", Value::of_u32(512));  // context 2048
  EXPECT_EQ(e.code, "gguf.unsupported_hparam");
  EXPECT_NE(e.message.find("sliding_window"), std::string::npos) << e.message;
  EXPECT_EQ(with("llama.attention.sliding_window", Value::of_u32(4096)).code, "ok");
  e = with("llama.expert_count", Value::of_u32(8));
  EXPECT_EQ(e.code, "gguf.unsupported_hparam");
  EXPECT_NE(e.message.find("expert_count"), std::string::npos) << e.message;
  e = with("llama.attention.key_length", Value::of_u32(16));  // != value_length (8)
  EXPECT_EQ(e.code, "gguf.unsupported_hparam");
  EXPECT_NE(e.message.find("key_length"), std::string::npos) << e.message;
  EXPECT_EQ(with("llama.attention.value_length", Value::of_u32(4)).code, "gguf.unsupported_hparam");
  EXPECT_EQ(with("llama.attention.layer_norm_rms_epsilon", Value::of_f32(0.0f)).code, "gguf.bad_hparam");
}
