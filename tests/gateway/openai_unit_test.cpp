// The gateway's pure parts: OpenAI request parsing and validation, replies and stream chunks,
// chat templates (and their detection in GGUF files), API keys and the rate limiter.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "gateway/access.hpp"
#include "gateway/chat_template.hpp"
#include "gateway/model_files.hpp"
#include "gateway/openai.hpp"
#include "inference/gguf/random_model.hpp"

using namespace ig::gateway;

namespace {

CompletionRequest ok(Endpoint e, const std::string& body) {
  auto r = parse_request(e, body);
  if (auto err = error_of(r)) ADD_FAILURE() << body << " -> " << err->message;
  return std::get<CompletionRequest>(r);
}

ApiError bad(Endpoint e, const std::string& body) {
  auto r = parse_request(e, body);
  if (!error_of(r)) {
    ADD_FAILURE() << body << " was accepted";
    return {};
  }
  return *error_of(r);
}

}  // namespace

TEST(OpenAiRequest, CompletionDefaultsAndMilliUnits) {
  auto r = ok(Endpoint::Completions, R"({"model":"stories260K","prompt":"Once upon a time"})");
  EXPECT_EQ(r.model, "stories260K");
  EXPECT_EQ(r.prompt, "Once upon a time");
  EXPECT_FALSE(r.max_tokens);
  EXPECT_EQ(r.temperature_milli, 1000u);  // OpenAI's default temperature 1
  EXPECT_EQ(r.top_p_milli, 1000u);
  EXPECT_FALSE(r.seed);
  EXPECT_FALSE(r.stream);

  r = ok(Endpoint::Completions,
         R"({"model":"m","prompt":["p"],"max_tokens":24,"temperature":0.7,"top_p":0.95,"top_k":40,"seed":7,
             "stream":true,"stream_options":{"include_usage":true},"stop":["\n\n"],"n":1,"logprobs":null,
             "presence_penalty":0,"user":"someone","unknown_field":{"x":1}})");
  EXPECT_EQ(r.prompt, "p");
  EXPECT_EQ(*r.max_tokens, 24u);
  EXPECT_EQ(r.temperature_milli, 700u);
  EXPECT_EQ(r.top_p_milli, 950u);
  EXPECT_EQ(r.top_k, 40u);
  EXPECT_EQ(*r.seed, 7u);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  ASSERT_EQ(r.stop.size(), 1u);

  // Rounding to thousandths; top_p 0 keeps at least the most likely token.
  r = ok(Endpoint::Completions, R"({"model":"m","prompt":"p","temperature":0.0004,"top_p":0})");
  EXPECT_EQ(r.temperature_milli, 0u);
  EXPECT_EQ(r.top_p_milli, 1u);
}

TEST(OpenAiRequest, ChatMessages) {
  auto r = ok(Endpoint::Chat, R"({"model":"m","max_completion_tokens":5,"messages":[
      {"role":"developer","content":"be brief"},
      {"role":"user","content":[{"type":"text","text":"Hello "},{"type":"text","text":"there"}]},
      {"role":"assistant","content":null},
      {"role":"user","content":"again"}]})");
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hello there");
  EXPECT_EQ(r.messages[2].content, "");
  EXPECT_EQ(*r.max_tokens, 5u);
}

TEST(OpenAiRequest, RefusesWhatItCannotHonour) {
  EXPECT_EQ(bad(Endpoint::Completions, "not json").code, "invalid_json");
  EXPECT_EQ(bad(Endpoint::Completions, "[]").code, "invalid_json");
  EXPECT_EQ(bad(Endpoint::Completions, std::string(100, '[') + std::string(100, ']')).code, "invalid_json");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"prompt":"p"})").param, "model");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"","prompt":"p"})").param, "model");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m"})").param, "prompt");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":""})").param, "prompt");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":[1,2,3]})").param, "prompt");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":"p","max_tokens":0})").param, "max_tokens");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":"p","max_tokens":4097})").param, "max_tokens");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":"p","max_tokens":"5"})").param, "max_tokens");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":"p","temperature":2.5})").param, "temperature");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":"p","temperature":-0.1})").param, "temperature");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":"p","seed":-3})").param, "seed");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":"p","stream":"yes"})").param, "stream");
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":"p","stop":["a","b","c","d","e"]})").param, "stop");
  for (const char* field : {R"("n":2)", R"("logprobs":true)", R"("echo":true)", R"("best_of":3)", R"("suffix":"x")",
                            R"("presence_penalty":0.5)", R"("logit_bias":{"1":2})", R"("tools":[{"type":"function"}])",
                            R"("response_format":{"type":"json_object"})"}) {
    auto e = bad(Endpoint::Completions, std::string(R"({"model":"m","prompt":"p",)") + field + "}");
    EXPECT_EQ(e.code, "unsupported_parameter") << field;
    EXPECT_EQ(e.status, 400);
  }
  EXPECT_EQ(bad(Endpoint::Chat, R"({"model":"m","messages":[]})").param, "messages");
  EXPECT_EQ(bad(Endpoint::Chat, R"({"model":"m","messages":[{"role":"tool","content":"x"}]})").param, "messages[0].role");
  EXPECT_EQ(bad(Endpoint::Chat, R"({"model":"m","messages":[{"content":"x"}]})").param, "messages[0]");
  EXPECT_EQ(bad(Endpoint::Chat, R"({"model":"m","messages":[{"role":"user","content":5}]})").param, "messages[0].content");
  const std::string big(kMaxPromptBytes + 1, 'a');
  EXPECT_EQ(bad(Endpoint::Completions, R"({"model":"m","prompt":")" + big + "\"}").code, "context_length_exceeded");
  EXPECT_EQ(bad(Endpoint::Chat, R"({"model":"m","messages":[{"role":"user","content":")" + big + "\"}]}").code,
            "context_length_exceeded");
}

TEST(OpenAiReply, ShapesOfCompletionsChunksAndErrors) {
  Completion c;
  c.id = "cmpl-infergrid-7";
  c.model = "ab";
  c.created = 1700000000;
  c.text = "there was";
  c.finish_reason = "length";
  c.prompt_tokens = 5;
  c.completion_tokens = 2;
  c.extension = {{"task_id", 7}};
  auto j = completion_json(Endpoint::Completions, c);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "there was");
  EXPECT_EQ(j["usage"]["total_tokens"], 7);
  EXPECT_EQ(j["infergrid"]["task_id"], 7);
  j = completion_json(Endpoint::Chat, c);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "there was");

  EXPECT_EQ(chunk_role(c)["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(chunk_text(Endpoint::Chat, c, " was")["choices"][0]["delta"]["content"], " was");
  EXPECT_EQ(chunk_text(Endpoint::Completions, c, " was")["choices"][0]["text"], " was");
  EXPECT_EQ(chunk_finish(Endpoint::Chat, c)["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(chunk_usage(Endpoint::Chat, c)["choices"].empty());
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
  EXPECT_EQ(sse_comment("a\nb"), ": a b\n\n");
  EXPECT_EQ(sse_event(json{{"a", 1}}), "data: {\"a\":1}\n\n");

  auto e = error_json(ApiError{404, "invalid_request_error", "model_not_found", "no such model", "model"});
  EXPECT_EQ(e["error"]["code"], "model_not_found");
  EXPECT_EQ(e["error"]["param"], "model");
  EXPECT_TRUE(error_json(ApiError{500, "server_error", "", "x", ""})["error"]["param"].is_null());
}

TEST(OpenAiReply, StreamPiecesAndStopSequences) {
  const std::string text = " Once upon\na  time, ünïcode ok";
  auto pieces = stream_pieces(text);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, text);
  EXPECT_GE(pieces.size(), 5u);
  EXPECT_TRUE(stream_pieces("").empty());

  std::string t = "Hello world. Bye";
  EXPECT_TRUE(apply_stop(t, {"Bye", "."}));
  EXPECT_EQ(t, "Hello world");
  t = "abc";
  EXPECT_FALSE(apply_stop(t, {"x"}));
  EXPECT_EQ(t, "abc");
}

TEST(ChatTemplate, DetectsFamiliesFromTheGguf) {
  auto none = [](std::string_view) { return false; };
  auto has = [](std::string_view want) { return [want](std::string_view t) { return t == want; }; };
  EXPECT_EQ(detect_family(std::string("{% for m in messages %}<|im_start|>{{ m.role }}"), "llama", none), TemplateFamily::ChatML);
  EXPECT_EQ(detect_family(std::string("<|start_header_id|>{{ role }}<|end_header_id|>"), "llama", none), TemplateFamily::Llama3);
  EXPECT_EQ(detect_family(std::string("{{ bos_token + '[INST] ' + content + ' [/INST]' }}"), "llama", none),
            TemplateFamily::Llama2);
  EXPECT_EQ(detect_family(std::nullopt, "qwen2", none), TemplateFamily::ChatML);
  EXPECT_EQ(detect_family(std::nullopt, "llama", has("<|im_start|>")), TemplateFamily::ChatML);
  EXPECT_EQ(detect_family(std::nullopt, "llama", has("<|start_header_id|>")), TemplateFamily::Llama3);
  EXPECT_EQ(detect_family(std::nullopt, "llama", none), TemplateFamily::Plain);
  EXPECT_EQ(detect_family(std::string("{{ something else }}"), "llama", none), TemplateFamily::Plain);
}

TEST(ChatTemplate, RendersEachFamily) {
  const std::vector<ChatMessage> conv = {{"system", "Be kind."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Story?"}};
  EXPECT_EQ(render_chat(TemplateFamily::ChatML, conv),
            "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nStory?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(TemplateFamily::Llama3, {{"user", "Hi"}}),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(TemplateFamily::Llama2, conv),
            "[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\nHi [/INST] Hello! [INST] Story? [/INST]");
  EXPECT_EQ(render_chat(TemplateFamily::Llama2, {{"user", "Hi"}}), "[INST] Hi [/INST]");
  // Plain: one message is the prompt as is; more are its lines.
  EXPECT_EQ(render_chat(TemplateFamily::Plain, {{"user", "Once upon a time"}}), "Once upon a time");
  EXPECT_EQ(render_chat(TemplateFamily::Plain, {{"system", "Be kind."}, {"user", "Hi"}}), "Be kind.\nHi");
}

TEST(ApiKeys, ParseMatchAndRefuse) {
  auto keys = parse_api_keys("# keys\n\nabcdefghijklmnop alice\r\nqrstuvwxyz0123456789\n");
  ASSERT_TRUE(keys) << keys.error().message;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].label, "alice");
  EXPECT_EQ((*keys)[1].label, "key-2");
  EXPECT_EQ(match_key(*keys, "Bearer abcdefghijklmnop"), "alice");
  EXPECT_EQ(match_key(*keys, "bearer  qrstuvwxyz0123456789 "), "key-2");
  EXPECT_FALSE(match_key(*keys, "Bearer abcdefghijklmno"));
  EXPECT_FALSE(match_key(*keys, "Basic abcdefghijklmnop"));
  EXPECT_FALSE(match_key(*keys, std::nullopt));
  EXPECT_FALSE(match_key(*keys, "Bearer "));
  EXPECT_FALSE(parse_api_keys("short\n"));
  EXPECT_FALSE(parse_api_keys("abcdefghijklmnop a b\n"));
  EXPECT_FALSE(parse_api_keys("abcdefghijklmnop\nabcdefghijklmnop\n"));
  EXPECT_FALSE(check_key_text("has a space in it!!"));
}

TEST(RateLimiter, RefillsEvenlyAndBoundsClients) {
  using namespace std::chrono_literals;
  RateLimiter r(60, 3, 4);  // one a second, bursts of 3, at most 4 clients tracked
  auto t = RateLimiter::Clock::now();
  EXPECT_FALSE(r.take("a", t));
  EXPECT_FALSE(r.take("a", t));
  EXPECT_FALSE(r.take("a", t));
  auto wait = r.take("a", t);
  ASSERT_TRUE(wait);
  EXPECT_NEAR(*wait, 1.0, 1e-6);
  EXPECT_FALSE(r.take("b", t));  // another client has its own bucket
  EXPECT_FALSE(r.take("a", t + 1s));
  EXPECT_TRUE(r.take("a", t + 1s));
  for (int i = 0; i < 100; ++i) (void)r.take("client-" + std::to_string(i), t);
  EXPECT_LE(r.clients(), 4u);
  RateLimiter off(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(off.take("x", t));
}

// The family is read from real GGUF files: the metadata template when there is one, else the
// architecture. Random-weight models are enough (only metadata and the vocabulary are read).
TEST(ModelFiles, ReadTemplateFamilyAndCountPromptTokens) {
  char dir[] = "/tmp/gateway-model-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string base = dir;
  auto write = [&](ig::gguf::RandomModelSpec spec, std::optional<std::string> tmpl, const std::string& name) {
    auto w = ig::gguf::build_random_model(spec);
    EXPECT_TRUE(w) << w.error().message;
    if (tmpl) w->set("tokenizer.chat_template", ig::gguf::Value::of_string(*tmpl));
    EXPECT_TRUE(w->write_file(base + "/" + name));
    return base + "/" + name;
  };
  ig::gguf::RandomModelSpec llama;
  ig::gguf::RandomModelSpec qwen;
  qwen.arch = "qwen2";
  const auto l3 = write(llama, "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>' }}", "l3.gguf");
  const auto l2 = write(llama, "{{ bos_token + '[INST] ' + m['content'] + ' [/INST]' }}", "l2.gguf");
  const auto q2 = write(qwen, std::nullopt, "q2.gguf");
  const auto plain = write(llama, std::nullopt, "plain.gguf");
  auto files = ModelFiles::load({l3, l2, q2, plain});
  ASSERT_TRUE(files) << files.error().message;
  std::map<std::string, TemplateFamily> by_path;
  for (const auto& [id, f] : files->all()) by_path[f.path] = f.family;
  EXPECT_EQ(by_path[l3], TemplateFamily::Llama3);
  EXPECT_EQ(by_path[l2], TemplateFamily::Llama2);
  EXPECT_EQ(by_path[q2], TemplateFamily::ChatML);
  EXPECT_EQ(by_path[plain], TemplateFamily::Plain);
  // Prompt tokens by the task rule on the bundled model: BOS + the text's 4 tokens.
  auto stories = ModelFiles::load({std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf"});
  ASSERT_TRUE(stories);
  ASSERT_EQ(stories->all().size(), 1u);
  const std::string id = stories->all().begin()->first;
  EXPECT_EQ(stories->prompt_tokens(id, "Once upon a time"), 5u);
  EXPECT_FALSE(stories->prompt_tokens(std::string(64, '0'), "x"));
  EXPECT_FALSE(load_model_file(base + "/missing.gguf"));
  for (const auto& p : {l3, l2, q2, plain}) ::unlink(p.c_str());
  ::rmdir(dir);
}
