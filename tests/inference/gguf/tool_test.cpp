// infergrid-gguf as a program: make writes a loadable model, info prints it,
// bad arguments fail with a non-zero exit status.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "inference/gguf/gguf.hpp"

namespace {
struct Result {
  int status;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = std::string(INFERGRID_GGUF_TOOL) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, ""};
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ig_gguf_tool_" + std::to_string(::getpid()) + "_" + name))
      .string();
}
}  // namespace

TEST(GgufTool, MakeThenInfo) {
  const std::string out = temp_path("q4.gguf");
  auto made = run("make --arch qwen2 --dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 --vocab 400 --ctx 256 "
                  "--type q4_0 --seed 3 --tied -o " + out);
  ASSERT_EQ(made.status, 0) << made.out;
  auto f = ig::gguf::File::open(out);
  ASSERT_TRUE(f.has_value()) << f.error().to_string();
  EXPECT_EQ((*f->get_tensor("blk.1.ffn_gate.weight"))->type, ig::gguf::TensorType::Q4_0);
  EXPECT_EQ(f->find_tensor("output.weight"), nullptr);

  auto info = run("info --json " + out);
  ASSERT_EQ(info.status, 0) << info.out;
  const auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j.at("version"), 3);
  EXPECT_EQ(j.at("metadata").at("general.architecture"), "qwen2");
  EXPECT_EQ(j.at("metadata").at("tokenizer.ggml.tokens").at("length"), 400);
  EXPECT_EQ(j.at("tensors").size(), f->tensors().size());
  EXPECT_EQ(j.at("tensors").at(0).at("name"), "token_embd.weight");

  auto text = run("info " + out);
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("blk.0.attn_q.bias"), std::string::npos);
  EXPECT_NE(text.out.find("q4_0"), std::string::npos);
  std::filesystem::remove(out);
}

TEST(GgufTool, InfoOnRealModel) {
  auto r = run(std::string("info ") + INFERGRID_SHARED_DATA + "/models/stories260K.gguf");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("GGUF v3"), std::string::npos);
  EXPECT_NE(r.out.find("(512 string)"), std::string::npos);  // arrays are abbreviated
  EXPECT_NE(r.out.find("blk.4.ffn_norm.weight"), std::string::npos);
}

// K-quants: make --type q4_k_m writes llama.cpp's mix; derive re-quantizes a model to it.
TEST(GgufTool, MakeAndDeriveKQuantMixes) {
  const std::string out = temp_path("q4km.gguf"), f16 = temp_path("f16.gguf"), derived = temp_path("derived.gguf");
  const std::string shape = "--dim 256 --layers 4 --heads 4 --kv-heads 2 --ffn 512 --vocab 400 --ctx 128 --seed 5 ";
  auto made = run("make " + shape + "--type q4_k_m -o " + out);
  ASSERT_EQ(made.status, 0) << made.out;
  auto f = ig::gguf::File::open(out);
  ASSERT_TRUE(f.has_value()) << f.error().to_string();
  using ig::gguf::TensorType;
  EXPECT_EQ((*f->get_tensor("output.weight"))->type, TensorType::Q6_K);
  EXPECT_EQ((*f->get_tensor("blk.0.attn_v.weight"))->type, TensorType::Q4_K);
  EXPECT_EQ((*f->get_tensor("blk.3.ffn_down.weight"))->type, TensorType::Q6_K);
  EXPECT_EQ(*f->get_uint("general.file_type"), 15u);
  auto text = run("info " + out);
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("q6_k"), std::string::npos);

  // An F16 model of the same shape derived to Q4_K_M gets the same tensor types.
  ASSERT_EQ(run("make " + shape + "--type f16 -o " + f16).status, 0);
  auto d = run("derive " + f16 + " --type q4_k_m -o " + derived);
  ASSERT_EQ(d.status, 0) << d.out;
  auto g = ig::gguf::File::open(derived);
  ASSERT_TRUE(g.has_value()) << g.error().to_string();
  ASSERT_EQ(g->tensors().size(), f->tensors().size());
  for (const auto& t : f->tensors()) EXPECT_EQ((*g->get_tensor(t.name))->type, t.type) << t.name;
  EXPECT_EQ(*g->get_uint("general.file_type"), 15u);
  // stories260K's rows (64, 172 values) hold no 256-value super-block: as in llama.cpp, Q4_K
  // falls back to Q5_0, Q6_K to Q8_0, and rows that 32 does not divide to F16.
  const std::string stories = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";
  ASSERT_EQ(run("derive " + stories + " --type q4_k_m -o " + derived).status, 0);
  auto s = ig::gguf::File::open(derived);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ((*s->get_tensor("blk.0.attn_q.weight"))->type, TensorType::Q5_0);
  EXPECT_EQ((*s->get_tensor("blk.0.attn_v.weight"))->type, TensorType::Q5_0);
  EXPECT_EQ((*s->get_tensor("blk.2.attn_v.weight"))->type, TensorType::Q8_0);  // use_more_bits(2, 5)
  EXPECT_EQ((*s->get_tensor("output.weight"))->type, TensorType::Q8_0);
  EXPECT_EQ((*s->get_tensor("blk.0.ffn_down.weight"))->type, TensorType::F16);  // 172 columns: not even 32
  for (const auto& p : {out, f16, derived}) std::filesystem::remove(p);
}

TEST(GgufTool, BadArgumentsFail) {
  const std::string out = temp_path("bad.gguf");
  EXPECT_NE(run("make --arch gpt9 -o " + out).status, 0);
  EXPECT_NE(run("make --type q3_k -o " + out).status, 0);
  auto k = run("make --dim 48 --heads 4 --ffn 64 --type q4_k_m -o " + out);  // not even the fallbacks' 32
  EXPECT_NE(k.status, 0);
  EXPECT_NE(k.out.find("multiples of 32"), std::string::npos) << k.out;
  EXPECT_NE(run("make --dim 0 -o " + out).status, 0);
  auto r = run("make --dim 48 --heads 4 --ffn 64 --type q8_0 -o " + out);  // 48 % 32 != 0
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("multiples of 32"), std::string::npos);
  EXPECT_NE(run("make --heads 3 -o " + out).status, 0);
  EXPECT_NE(run("make").status, 0);  // -o is required
  EXPECT_FALSE(std::filesystem::exists(out));
  auto missing = run("info /nonexistent.gguf");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("gguf.io"), std::string::npos);
  EXPECT_NE(run("info " + std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.greedy.json").status, 0);
  EXPECT_NE(run("frobnicate").status, 0);
}

TEST(GgufTool, TokenizeAndDetokenize) {
  const std::string model = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";
  auto r = run("tokenize " + model + " --text 'Once upon a time' --bos --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("ids"), nlohmann::json({1, 403, 407, 261, 378}));
  EXPECT_EQ(j.at("pieces").at(1), "\xe2\x96\x81Once");
  auto text = run("detokenize " + model + " 403 407 261 378");
  ASSERT_EQ(text.status, 0) << text.out;
  EXPECT_EQ(text.out, " Once upon a time\n");
  auto commas = run("detokenize " + model + " 403,407,261 378");  // the --prompt-ids form works too
  ASSERT_EQ(commas.status, 0) << commas.out;
  EXPECT_EQ(commas.out, " Once upon a time\n");
  EXPECT_NE(run("detokenize " + model + " 403,x").status, 0);
  auto bad = run("detokenize " + model + " 403 99999");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("tokenizer.bad_id"), std::string::npos);
  EXPECT_NE(run("tokenize " + model).status, 0);  // --text is required
}
