// The verifier on stories260K: honest results verify (exactly on the same numerics, tolerantly
// on others); every kind of changed claim is rejected with its code, at the right step, with
// evidence the chain can check.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <unistd.h>

#include "inference/engine/engine.hpp"
#include "inference/gguf/random_model.hpp"
#include "inference/gguf/synthetic_vocab.hpp"
#include "inference/receipt/ids.hpp"
#include "inference/receipt/verifier.hpp"

namespace ig::receipt {
namespace {

const std::string kData = INFERGRID_SHARED_DATA;
const std::string kPrompt = "Once upon a time";
constexpr uint32_t kEos = 2;
using kernels::BackendKind;

struct Fixture {
  engine::Model model;
  ig::Hash32 id;
};

const Fixture& stories() {
  static const Fixture f = [] {
    auto m = engine::Model::open(kData + "/models/stories260K.gguf");
    if (!m) throw std::runtime_error(m.error().to_string());
    const ig::Hash32 id = model_id(m->file());
    return Fixture{std::move(*m), id};
  }();
  return f;
}

std::unique_ptr<kernels::Backend> backend(BackendKind k = BackendKind::Cpu, int threads = 2) {
  return std::move(*kernels::make_backend({k, threads}));
}

ig::SamplingParams greedy(uint32_t n) {
  ig::SamplingParams p;
  p.max_tokens = n;
  return p;
}

ig::SamplingParams sampled(uint32_t n, uint64_t seed, uint32_t temperature_milli = 800) {
  ig::SamplingParams p = greedy(n);
  p.temperature_milli = temperature_milli;
  p.top_k = 40;
  p.top_p_milli = 950;
  p.seed = seed;
  return p;
}

TaskResult produce(const ig::SamplingParams& p, const std::string& prompt = kPrompt,
                   BackendKind k = BackendKind::Cpu) {
  const auto& s = stories();
  auto r = run_task(s.model, s.id, *backend(k), prompt, p);
  if (!r) throw std::runtime_error(r.error().to_string());
  return *r;
}

Verdict run(const TaskResult& r, Mode mode = Mode::Exact, BackendKind k = BackendKind::Cpu, int threads = 1) {
  const auto& s = stories();
  auto v = verify(s.model, s.id, *backend(k, threads), r, mode);
  if (!v) throw std::runtime_error(v.error().to_string());
  return *v;
}

// A cheater who rewrites text and receipt consistently with its altered fields.
void reseal(TaskResult& r) { ASSERT_TRUE(receipt::reseal(stories().model, r)); }

// A token other than t that is not EOS.
uint32_t other_token(uint32_t t) {
  uint32_t o = (t + 100) % 512;
  return o == kEos ? 300 : o;
}

// The evidence of a step rejection: the claimed leaf under the receipt's root, and the
// verifier's own numbers there.
void expect_step_evidence(const TaskResult& r, const Verdict& v, int64_t step) {
  EXPECT_EQ(v.first_bad_step, step);
  ASSERT_TRUE(v.has_proof);
  EXPECT_EQ(v.claimed, r.fingerprints[size_t(step)]);
  EXPECT_EQ(v.proof.index, uint64_t(step));
  EXPECT_EQ(v.proof.leaf_count, uint64_t(r.receipt.steps));
  EXPECT_TRUE(ig::merkle_verify(r.receipt.fingerprint_root, ig::fingerprint_leaf(uint32_t(step), v.claimed), v.proof));
  EXPECT_TRUE(check_evidence(r.receipt, v));
}

TEST(ReceiptVerify, HonestGreedyResultVerifiesExactlyOnAnyThreadCount) {
  const TaskResult r = produce(greedy(40));
  ASSERT_EQ(r.output.size(), 40u);
  EXPECT_EQ(mode_for(r.receipt, *backend()), Mode::Exact);
  for (int threads : {1, 2}) {
    const Verdict v = run(r, Mode::Exact, BackendKind::Cpu, threads);
    EXPECT_TRUE(v.accepted) << v.code << " " << v.reason << " step " << v.first_bad_step;
    EXPECT_EQ(v.mode, Mode::Exact);
    EXPECT_EQ(v.code, "");
    EXPECT_EQ(v.steps_checked, 40);
    EXPECT_EQ(v.exact_matches, 40);
    EXPECT_FALSE(v.has_proof);
  }
}

TEST(ReceiptVerify, APrebuiltTokenizerGivesTheSameVerdicts) {
  const auto& s = stories();
  auto tk = model_tokenizer(s.model);
  ASSERT_TRUE(tk);
  TaskResult r = produce(sampled(20, 3));
  auto v = verify(s.model, *tk, s.id, *backend(), r, Mode::Exact);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->accepted);
  r.output[6] = other_token(r.output[6]);
  r.fingerprints[6].token = int32_t(r.output[6]);
  reseal(r);
  auto w = verify(s.model, *tk, s.id, *backend(), r, Mode::Exact);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->code, "verify.token_mismatch");
  EXPECT_EQ(w->first_bad_step, 6);
}

TEST(ReceiptVerify, HonestSampledResultVerifies) {
  for (uint64_t seed : {1u, 42u}) {
    const TaskResult r = produce(sampled(48, seed));
    const Verdict v = run(r);
    EXPECT_TRUE(v.accepted) << v.code << " step " << v.first_bad_step;
    EXPECT_EQ(v.exact_matches, int(r.output.size()));
    EXPECT_TRUE(run(r, Mode::Tolerant).accepted);
  }
}

TEST(ReceiptVerify, AResultThatEndsOnEosVerifies) {
  // stories260K ends its stories with BOS (llama2.c's convention), never EOS, so a small
  // random-weight model with a 260-token vocabulary, sampled hot, provides the EOS.
  const auto dir = std::filesystem::temp_directory_path() / ("ig_receipt_eos_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  gguf::RandomModelSpec spec;
  spec.vocab = gguf::kMinSpmVocab;
  const auto path = (dir / "small.gguf").string();
  ASSERT_TRUE(gguf::write_random_model(spec, path));
  auto m = engine::Model::open(path);
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(m->config().eos_id, int32_t(kEos));
  const ig::Hash32 id = model_id(m->file());
  auto be = backend();
  bool found = false;
  for (uint64_t seed = 1; seed <= 40 && !found; ++seed) {
    ig::SamplingParams p = sampled(200, seed, 5000);
    p.top_k = 0;
    p.top_p_milli = 1000;
    auto r = run_task(*m, id, *be, "hello", p);
    ASSERT_TRUE(r) << r.error().to_string();
    if (r->output.size() == 200) continue;
    found = true;
    EXPECT_EQ(r->output.back(), kEos);
    EXPECT_EQ(std::count(r->output.begin(), r->output.end(), kEos), 1);
    auto v = verify(*m, id, *be, *r, Mode::Exact);
    ASSERT_TRUE(v) << v.error().to_string();
    EXPECT_TRUE(v->accepted) << v->code << " step " << v->first_bad_step;
    // Going on after the EOS breaks the stop rule even when every step is honest arithmetic.
    TaskResult longer = *r;
    longer.output.push_back(5);
    longer.fingerprints.push_back({5, 0, 0});
    ASSERT_TRUE(receipt::reseal(*m, longer));
    auto w = verify(*m, id, *be, longer, Mode::Exact);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->code, "verify.stop_rule");
    EXPECT_EQ(w->first_bad_step, int64_t(r->output.size()));
    EXPECT_TRUE(check_evidence(longer.receipt, *w));
  }
  EXPECT_TRUE(found) << "no sampled output ended on EOS";
  std::filesystem::remove_all(dir);
}

TEST(ReceiptVerify, ModeForPicksExactOnlyForTheSameNumericsTag) {
  const TaskResult cpu = produce(greedy(8));
  const TaskResult ref = produce(greedy(8), kPrompt, BackendKind::Reference);
  EXPECT_EQ(ref.receipt.backend, "reference/1");
  EXPECT_NE(cpu.receipt.backend, ref.receipt.backend);
  EXPECT_EQ(mode_for(cpu.receipt, *backend(BackendKind::Cpu, 1)), Mode::Exact);
  EXPECT_EQ(mode_for(cpu.receipt, *backend(BackendKind::Reference)), Mode::Tolerant);
  EXPECT_EQ(mode_for(ref.receipt, *backend(BackendKind::Reference)), Mode::Exact);
  EXPECT_EQ(mode_for(ref.receipt, *backend(BackendKind::Cpu)), Mode::Tolerant);
  // Another numerics revision of the same family (the tag is "family/revision"): the one after
  // ours and the one before it.
  const std::string& tag = cpu.receipt.backend;
  const size_t slash = tag.find('/');
  ASSERT_NE(slash, std::string::npos) << tag;
  const int revision = std::stoi(tag.substr(slash + 1));
  for (int other : {revision + 1, revision - 1}) {
    ig::InferenceReceipt next = cpu.receipt;
    next.backend = tag.substr(0, slash + 1) + std::to_string(other);
    EXPECT_EQ(mode_for(next, *backend()), Mode::Tolerant) << next.backend;
  }
}

TEST(ReceiptVerify, OtherNumericsAreVerifiedTolerantly) {
  for (const auto& p : {greedy(24), sampled(24, 9)}) {
    const TaskResult r = produce(p);
    auto ref = backend(BackendKind::Reference);
    const Mode mode = mode_for(r.receipt, *ref);
    ASSERT_EQ(mode, Mode::Tolerant);
    const Verdict v = run(r, mode, BackendKind::Reference);
    EXPECT_TRUE(v.accepted) << v.code << " step " << v.first_bad_step;
    EXPECT_EQ(v.mode, Mode::Tolerant);
    // and the other way round
    const TaskResult rr = produce(p, kPrompt, BackendKind::Reference);
    const Verdict w = run(rr, mode_for(rr.receipt, *backend()), BackendKind::Cpu);
    EXPECT_TRUE(w.accepted) << w.code << " step " << w.first_bad_step;
  }
}

TEST(ReceiptVerify, TokenChangedAtStepKIsRejectedAtKWithEvidence) {
  for (const auto& p : {greedy(30), sampled(30, 5)}) {
    const TaskResult honest = produce(p);
    for (uint32_t k : {0u, 7u, 29u}) {
      TaskResult r = honest;
      r.output[k] = other_token(r.output[k]);
      r.fingerprints[k].token = int32_t(r.output[k]);  // keeping the old token's logits
      reseal(r);
      for (Mode mode : {Mode::Exact, Mode::Tolerant}) {
        const Verdict v = run(r, mode);
        EXPECT_FALSE(v.accepted);
        if (mode == Mode::Exact || p.greedy()) {
          EXPECT_EQ(v.code, "verify.token_mismatch") << k;
        } else {
          // Tolerant sampling admits any token the draw could plausibly have hit; this one is
          // caught by its logits, which are the old token's.
          EXPECT_TRUE(v.code == "verify.token_mismatch" || v.code == "verify.logit_mismatch") << v.code;
        }
        expect_step_evidence(r, v, k);
        ASSERT_TRUE(v.has_recomputed);
        EXPECT_EQ(v.recomputed.token, v.claimed.token);
        EXPECT_NE(v.recomputed, v.claimed);  // the claimed logits are not the new token's
        EXPECT_EQ(differing_fingerprint(v), v.recomputed);
        EXPECT_EQ(v.expected_token, int32_t(honest.output[k]));
        EXPECT_EQ(v.expected, honest.fingerprints[k]);  // the same numerics: the honest leaf
        EXPECT_FALSE(check_evidence(honest.receipt, v));  // the proof is tied to the cheater's root
      }
    }
  }
}

TEST(ReceiptVerify, AnotherTokenWithItsTrueLogitsIsStillCaught) {
  // A miner that ran the model but picked another token, and fingerprinted that token
  // truthfully: its leaf is exactly what the verifier computes, only the token is not the
  // verifier's choice.
  const TaskResult honest = produce(greedy(20));
  const uint32_t k = 4;
  TaskResult r = honest;
  r.output[k] = other_token(r.output[k]);
  r.fingerprints[k].token = int32_t(r.output[k]);
  reseal(r);
  const Verdict first = run(r);
  ASSERT_TRUE(first.has_recomputed);
  r.fingerprints[k] = first.recomputed;  // the true numbers for the substituted token
  reseal(r);
  const Verdict v = run(r);
  EXPECT_EQ(v.code, "verify.token_mismatch");
  expect_step_evidence(r, v, k);
  EXPECT_EQ(v.recomputed, v.claimed);
  EXPECT_NE(v.expected.token, v.claimed.token);
  // What evidence that must show a difference carries: the verifier's own choice here.
  EXPECT_EQ(differing_fingerprint(v), v.expected);
  EXPECT_NE(differing_fingerprint(v), v.claimed);
  EXPECT_GE(v.claimed.runner_up_q, v.claimed.logit_q);  // for greedy, visible in the claim itself
  // A verdict that claims to have recomputed the step but saw nothing different is no evidence.
  Verdict hollow = v;
  hollow.expected = hollow.claimed;
  EXPECT_FALSE(check_evidence(r.receipt, hollow));
}

TEST(ReceiptVerify, AlteredFingerprintIsALogitMismatch) {
  TaskResult r = produce(greedy(20));
  r.fingerprints[5].logit_q += 1;  // 1/65536 of a logit
  reseal(r);
  const Verdict v = run(r);
  EXPECT_EQ(v.code, "verify.logit_mismatch");
  expect_step_evidence(r, v, 5);
  EXPECT_NE(v.recomputed, v.claimed);
  EXPECT_EQ(v.recomputed.logit_q + 1, v.claimed.logit_q);
  EXPECT_TRUE(run(r, Mode::Tolerant).accepted);  // within tolerance by design
  r.fingerprints[5].logit_q += 65536 * 3;
  reseal(r);
  const Verdict t = run(r, Mode::Tolerant);
  EXPECT_EQ(t.code, "verify.logit_mismatch");
  expect_step_evidence(r, t, 5);
}

TEST(ReceiptVerify, ChangedParamsAreRejected) {
  const TaskResult s = produce(sampled(48, 1));
  TaskResult r = s;
  r.params.seed = 2;  // receipt untouched
  EXPECT_EQ(run(r).code, "verify.params_mismatch");
  EXPECT_EQ(run(r).first_bad_step, -1);
  reseal(r);  // a consistent receipt for a seed the miner did not use
  Verdict v = run(r);
  EXPECT_EQ(v.code, "verify.token_mismatch");
  ASSERT_GE(v.first_bad_step, 0);
  expect_step_evidence(r, v, v.first_bad_step);
  r = s;
  r.params.temperature_milli = 801;
  EXPECT_EQ(run(r).code, "verify.params_mismatch");
  r = s;
  r.params.top_p_milli = 0;
  reseal(r);
  EXPECT_EQ(run(r).code, "verify.bad_params");
  const TaskResult g = produce(greedy(30));
  r = g;
  r.params.max_tokens = 40;  // claims a longer task than it ran
  reseal(r);
  v = run(r);
  EXPECT_EQ(v.code, "verify.stop_rule");
  EXPECT_EQ(v.first_bad_step, 30);
  EXPECT_FALSE(v.has_proof);  // step 30 is not a leaf: nothing to prove on chain
}

TEST(ReceiptVerify, ChangedPromptIsRejected) {
  const TaskResult honest = produce(greedy(20));
  TaskResult r = honest;
  r.prompt = "Once upon a dog";
  EXPECT_EQ(run(r).code, "verify.prompt_mismatch");
  reseal(r);  // claims the output answers another prompt
  const Verdict v = run(r, Mode::Tolerant);
  EXPECT_FALSE(v.accepted);
  EXPECT_TRUE(v.code == "verify.token_mismatch" || v.code == "verify.logit_mismatch") << v.code;
  ASSERT_GE(v.first_bad_step, 0);
  expect_step_evidence(r, v, v.first_bad_step);
  r = honest;
  r.prompt_ids = {1, 2, 3};  // informational only: the verifier tokenizes the text itself
  EXPECT_TRUE(run(r).accepted);
  r = honest;
  r.prompt = "caf\xC3";
  reseal(r);
  EXPECT_EQ(run(r).code, "verify.bad_prompt");
  r = honest;
  r.prompt.clear();
  for (int i = 0; i < 1000; ++i) r.prompt += "the cat ";  // > 2048 tokens with the output
  reseal(r);
  EXPECT_EQ(run(r).code, "verify.too_long");
}

TEST(ReceiptVerify, ChangedTextIsRejected) {
  TaskResult r = produce(greedy(20));
  r.text += "!";  // the receipt does not cover the text: the verifier re-renders it
  Verdict v = run(r);
  EXPECT_EQ(v.code, "verify.text_mismatch");
  EXPECT_EQ(v.first_bad_step, -1);
  r.text = "Once upon a time there was a cheater.";
  EXPECT_EQ(run(r).code, "verify.text_mismatch");
}

TEST(ReceiptVerify, StopRule) {
  const TaskResult honest = produce(greedy(30));
  TaskResult cut = honest;  // receipt untouched, output cut short
  cut.output.resize(25);
  cut.fingerprints.resize(25);
  EXPECT_EQ(run(cut).code, "verify.steps_mismatch");
  reseal(cut);  // a consistent receipt for 25 steps of a 30-token task without EOS
  Verdict v = run(cut);
  EXPECT_EQ(v.code, "verify.stop_rule");
  EXPECT_EQ(v.first_bad_step, 25);
  EXPECT_FALSE(v.has_proof);
  TaskResult empty = honest;
  empty.output.clear();
  empty.fingerprints.clear();
  reseal(empty);
  EXPECT_EQ(run(empty).code, "verify.stop_rule");

  TaskResult past = honest;  // an EOS in the middle, and the output goes on
  past.output[10] = kEos;
  past.fingerprints[10].token = int32_t(kEos);
  reseal(past);
  v = run(past);
  EXPECT_EQ(v.code, "verify.stop_rule");
  expect_step_evidence(past, v, 11);  // the first token that should not exist
  EXPECT_FALSE(v.has_recomputed);

  TaskResult longer = honest;  // one token more than max_tokens
  longer.output.push_back(honest.output.back());
  longer.fingerprints.push_back(honest.fingerprints.back());
  reseal(longer);
  v = run(longer);
  EXPECT_EQ(v.code, "verify.stop_rule");
  expect_step_evidence(longer, v, 30);
}

// A chat model ends its turn on an end-of-turn token (Llama 3's <|eot_id|>, ChatML's <|im_end|>)
// rather than EOS: the miner stops there and the verifier accepts it, and an output that goes
// on past it breaks the stop rule. stories260K with one of its tokens declared the EOT.
TEST(ReceiptVerify, StopRuleEndsOnAnyEndOfGenerationToken) {
  const TaskResult honest = produce(greedy(30));
  const uint32_t eot = honest.output[6];
  const size_t first = size_t(std::find(honest.output.begin(), honest.output.end(), eot) - honest.output.begin());
  ASSERT_NE(eot, kEos);
  gguf::Writer w;
  const gguf::File& src = stories().model.file();
  for (const auto& kv : src.metadata()) w.set(kv.key, kv.value);
  w.set("tokenizer.ggml.eot_token_id", gguf::Value::of_u32(eot));
  for (const auto& t : src.tensors())
    ASSERT_TRUE(w.add_tensor(t.name, t.type, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                             std::vector<uint8_t>(t.data, t.data + t.n_bytes)));
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes);
  auto file = gguf::File::from_bytes(*bytes);
  ASSERT_TRUE(file);
  auto chat = engine::Model::from_gguf(std::move(*file));
  ASSERT_TRUE(chat) << chat.error().to_string();
  ASSERT_TRUE(chat->config().is_eog(int32_t(eot)));
  const ig::Hash32 chat_id = model_id(chat->file());

  auto stopped = run_task(*chat, chat_id, *backend(), kPrompt, greedy(30));
  ASSERT_TRUE(stopped) << stopped.error().to_string();
  ASSERT_EQ(stopped->output.size(), first + 1);
  EXPECT_EQ(stopped->output.back(), eot);
  auto v = verify(*chat, chat_id, *backend(BackendKind::Cpu, 1), *stopped, Mode::Exact);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->accepted) << v->code << ": " << v->reason;
  // The same output checked against the model without the EOT: it stops early without EOS.
  TaskResult plain = *stopped;
  plain.receipt.model_id = stories().id;
  reseal(plain);
  EXPECT_EQ(run(plain).code, "verify.stop_rule");

  // The 30-token output of the plain model, claimed for the chat model: it runs past the EOT.
  TaskResult past = honest;
  past.receipt.model_id = chat_id;
  ASSERT_TRUE(receipt::reseal(*chat, past));
  v = verify(*chat, chat_id, *backend(BackendKind::Cpu, 1), past, Mode::Exact);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->code, "verify.stop_rule");
  EXPECT_EQ(v->first_bad_step, int64_t(first + 1));
}

TEST(ReceiptVerify, ResultOfADifferentModelIsRejected) {
  const auto dir = std::filesystem::temp_directory_path() / ("ig_receipt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  gguf::RandomModelSpec spec;  // llama, 512-token vocab like stories260K
  spec.dim = 64;
  spec.heads = 8;
  spec.kv_heads = 4;
  spec.vocab = 512;
  const auto path = (dir / "other.gguf").string();
  ASSERT_TRUE(gguf::write_random_model(spec, path));
  auto other = engine::Model::open(path);
  ASSERT_TRUE(other) << other.error().to_string();
  const ig::Hash32 other_id = model_id(other->file());
  auto res = run_task(*other, other_id, *backend(), kPrompt, greedy(20));
  ASSERT_TRUE(res) << res.error().to_string();
  TaskResult r = *res;
  Verdict v = run(r);
  EXPECT_EQ(v.code, "verify.model_mismatch");
  r.receipt.model_id = stories().id;  // lie about the model, consistently
  reseal(r);
  v = run(r, Mode::Tolerant);
  EXPECT_FALSE(v.accepted);
  EXPECT_TRUE(v.code == "verify.token_mismatch" || v.code == "verify.logit_mismatch") << v.code;
  expect_step_evidence(r, v, 0);
  std::filesystem::remove_all(dir);
}

TEST(ReceiptVerify, MalformedResultsAreRejectedNotCrashed) {
  const auto& s = stories();
  const TaskResult honest = produce(greedy(10));
  TaskResult r = honest;
  r.fingerprints[2].token = 9;  // the leaf names another token than the output
  reseal(r);
  Verdict v = run(r);
  EXPECT_EQ(v.code, "verify.fingerprint_token");
  expect_step_evidence(r, v, 2);

  r = honest;  // an id outside the vocabulary (output_text cannot render it: build by hand)
  r.output[4] = 9999;
  r.fingerprints[4].token = 9999;
  r.receipt = make_receipt(s.id, r.prompt, r.params, r.output, r.fingerprints, r.receipt.backend);
  v = run(r);
  EXPECT_EQ(v.code, "verify.bad_token");
  EXPECT_EQ(v.first_bad_step, 4);
  r.output[4] = 0x80000000u;  // beyond int32: cannot even be the fingerprint's token
  r.receipt = make_receipt(s.id, r.prompt, r.params, r.output, r.fingerprints, r.receipt.backend);
  EXPECT_EQ(run(r).code, "verify.fingerprint_token");

  r = honest;
  r.fingerprints[1].runner_up_q ^= 4;  // receipt not resealed
  EXPECT_EQ(run(r).code, "verify.root_mismatch");
  r = honest;
  r.output[3] = 7;
  EXPECT_EQ(run(r).code, "verify.output_mismatch");
  r = honest;
  r.fingerprints.pop_back();
  EXPECT_EQ(run(r).code, "verify.steps_mismatch");
  r = honest;
  r.receipt.backend = "CPU!";
  EXPECT_EQ(run(r).code, "verify.bad_backend");
}

}  // namespace
}  // namespace ig::receipt
