// The inference payloads' canonical encoding: SubmitResult (tokens, fingerprints, text, the
// receipt as its own canonical bytes) and Verdict (reason, optional step evidence) round-trip,
// every truncation and every cap is refused, and the sampling parameters and receipt are the
// one definition common/ gives the inference engine too.
#include <gtest/gtest.h>

#include "chain/codec.hpp"
#include "chain/json_view.hpp"
#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

ig::InferenceReceipt sample_receipt(const std::vector<uint32_t>& tokens, const std::vector<ig::Fingerprint>& fps) {
  ig::InferenceReceipt r;
  r.model_id = hash_of("model");
  r.prompt_hash = ig::prompt_hash("Once upon a time");
  r.params_hash = ig::sampling_params_hash(ig::SamplingParams{16, 700, 40, 950, 9});
  r.output_hash = ig::output_hash(tokens);
  r.fingerprint_root = ig::fingerprint_root(fps);
  r.steps = static_cast<uint32_t>(tokens.size());
  r.backend = "cpu/1";
  return r;
}

chain::SubmitResult sample_result() {
  chain::SubmitResult s;
  s.task_id = 42;
  s.output_tokens = {7, 300, 65000, 12};
  for (size_t i = 0; i < s.output_tokens.size(); ++i)
    s.fingerprints.push_back({static_cast<int32_t>(s.output_tokens[i]), -5 * static_cast<int32_t>(i) - 1, INT32_MIN + 3});
  s.text = "Tom ran — vite!";
  s.receipt = sample_receipt(s.output_tokens, s.fingerprints);
  return s;
}

chain::Verdict sample_reject() {
  auto s = sample_result();
  chain::Verdict v{42, false, 2, "verify.token_mismatch", chain::StepEvidence{}};
  v.evidence->claimed = s.fingerprints[2];
  v.evidence->proof = ig::merkle_prove(ig::fingerprint_leaves(s.fingerprints), 2);
  v.evidence->recomputed = {301, 99, 98};
  return v;
}

Bytes encode(const chain::Payload& p) {
  Writer w;
  encode_payload(w, p);
  return std::move(w).take();
}

Expected<chain::Payload> decode(ByteView b) {
  Reader r(b);
  chain::Payload p = read_payload(r);
  IG_TRY(r.finish());
  return p;
}

void put_u32_at(Bytes& b, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

TEST(ChainPayloadCodec, SubmitResultAndVerdictsRoundTripAlsoInsideASignedTransaction) {
  const std::vector<chain::Payload> payloads{sample_result(), sample_reject(),
                                             chain::Verdict{42, true, 0, "", std::nullopt},
                                             chain::Verdict{42, false, 0, std::string(chain::kReasonTextMismatch), std::nullopt},
                                             chain::SubmitResult{1, {}, {}, "", sample_receipt({}, {})}};
  TestKeys k;
  for (const auto& p : payloads) {
    auto back = decode(encode(p));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, p);
    TxBody body{kChainId, k.alice.public_key(), 3, 1000, 0, p};
    auto tx = decode_tx(encode_tx(sign_tx(body, k.alice)));
    ASSERT_TRUE(tx) << tx.error().to_string();
    EXPECT_EQ(tx->body.payload, p);
  }
}

TEST(ChainPayloadCodec, TheReceiptInsideASubmitResultIsItsCanonicalBytes) {
  const auto s = sample_result();
  const Bytes enc = encode(s);
  const auto canonical = ig::encode_receipt(s.receipt);
  ASSERT_GE(enc.size(), canonical.size() + 4);
  // The receipt is the last field: a u32 length, then exactly ig::encode_receipt's bytes.
  const size_t at = enc.size() - canonical.size();
  EXPECT_EQ(Bytes(enc.begin() + static_cast<std::ptrdiff_t>(at), enc.end()), canonical);
  Reader len(ByteView(enc.data() + at - 4, 4));
  EXPECT_EQ(len.u32(), canonical.size());
  EXPECT_EQ(chain::payload_to_json(s)["receipt"]["receipt_id"], to_hex(ig::receipt_id(s.receipt)));
}

TEST(ChainPayloadCodec, EveryTruncationIsRefusedAndTrailingBytesToo) {
  for (const chain::Payload& p : {chain::Payload(sample_result()), chain::Payload(sample_reject())}) {
    const Bytes full = encode(p);
    for (size_t n = 0; n < full.size(); ++n) {
      auto r = decode(ByteView(full.data(), n));
      ASSERT_FALSE(r) << payload_name(p) << ": prefix of " << n << " bytes was accepted";
      EXPECT_EQ(r.error().code, "codec.truncated") << payload_name(p) << " prefix " << n << ": " << r.error().to_string();
    }
    Bytes longer = full;
    longer.push_back(0);
    auto r = decode(longer);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "codec.trailing_bytes");
  }
}

TEST(ChainPayloadCodec, CapsAreEnforced) {
  auto expect_oversized = [](const chain::Payload& p, const char* what) {
    auto r = decode(encode(p));
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, "codec.oversized") << what << ": " << r.error().to_string();
  };
  auto text = sample_result();
  text.text.assign(chain::kMaxResultTextBytes + 1, 'a');
  expect_oversized(text, "text");
  auto fps = sample_result();
  fps.fingerprints.assign(chain::kMaxOutputTokens + 1, ig::Fingerprint{});
  expect_oversized(fps, "fingerprints");
  auto reason = sample_reject();
  reason.reason.assign(chain::kMaxReasonBytes + 1, 'a');
  expect_oversized(reason, "reason");
  auto siblings = sample_reject();
  siblings.evidence->proof.siblings.assign(chain::kMaxProofSiblings + 1, Hash{});
  expect_oversized(siblings, "siblings");
  // A receipt longer than any receipt can be: refused on its length prefix.
  Bytes enc = encode(sample_result());
  const size_t len_at = enc.size() - ig::encode_receipt(sample_result().receipt).size() - 4;
  put_u32_at(enc, len_at, static_cast<uint32_t>(ig::kMaxReceiptBytes + 1));
  auto r = decode(enc);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec.oversized");
}

TEST(ChainPayloadCodec, AReceiptThatDoesNotDecodeIsACodecError) {
  const auto s = sample_result();
  const Bytes good = encode(s);
  const size_t at = good.size() - ig::encode_receipt(s.receipt).size();
  Bytes magic = good;
  magic[at] ^= 0xFF;  // "IGRC" no more
  Bytes version = good;
  version[at + 4] = 1;
  Bytes backend = good;
  backend[good.size() - 1] = 'X';  // "cpu/X": capitals are not allowed in a backend tag
  for (const auto& [bytes, inner] : {std::pair{magic, "receipt.bad_magic"}, std::pair{version, "receipt.bad_version"},
                                     std::pair{backend, "receipt.bad_backend"}}) {
    auto r = decode(bytes);
    ASSERT_FALSE(r) << inner;
    EXPECT_EQ(r.error().code, "codec.bad_receipt");
    EXPECT_NE(r.error().message.find(inner), std::string::npos) << r.error().message;
  }
  // The evidence's presence flag is a boolean: 2 is refused.
  Bytes verdict = encode(chain::Verdict{1, true, 0, "", std::nullopt});
  verdict.back() = 2;
  auto r = decode(verdict);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec.bad_bool");
}

TEST(ChainPayloadCodec, SamplingParametersAreTheCommonDefinitionByteForByte) {
  for (const ig::SamplingParams& p : {ig::SamplingParams{}, ig::SamplingParams{16, 700, 40, 950, 9},
                                      ig::SamplingParams{4096, 100'000, UINT32_MAX, 1, UINT64_MAX}}) {
    Writer w;
    chain::encode_sampling(w, p);
    const auto common = ig::encode_sampling_params(p);
    EXPECT_EQ(w.data(), Bytes(common.begin(), common.end()));
    EXPECT_EQ(chain::sampling_params_hash(p), ig::sampling_params_hash(p));
    // The hash the chain has always used: SHA-256 of the five fields, little-endian.
    Writer fields;
    fields.u32(p.max_tokens);
    fields.u32(p.temperature_milli);
    fields.u32(p.top_k);
    fields.u32(p.top_p_milli);
    fields.u64(p.seed);
    EXPECT_EQ(chain::sampling_params_hash(p), sha256(fields.data()));
    Reader r(w.data());
    EXPECT_EQ(chain::read_sampling(r), p);
    EXPECT_TRUE(r.finish());
  }
  static_assert(std::is_same_v<chain::SamplingParams, ig::SamplingParams>);
}

TEST(ChainPayloadCodec, Utf8AndReasonRules) {
  EXPECT_TRUE(chain::is_valid_utf8(""));
  EXPECT_TRUE(chain::is_valid_utf8("plain ascii"));
  EXPECT_TRUE(chain::is_valid_utf8("ünïcödé — 日本 🙂"));
  EXPECT_FALSE(chain::is_valid_utf8(std::string("\xC3", 1)));              // cut off
  EXPECT_FALSE(chain::is_valid_utf8(std::string("\xC0\xAF", 2)));          // overlong '/'
  EXPECT_FALSE(chain::is_valid_utf8(std::string("\xED\xA0\x80", 3)));      // surrogate
  EXPECT_FALSE(chain::is_valid_utf8(std::string("\xF4\x90\x80\x80", 4)));  // beyond U+10FFFF
  EXPECT_FALSE(chain::is_valid_utf8(std::string("\x80", 1)));              // lone continuation
  EXPECT_FALSE(chain::is_valid_utf8(std::string("\xFF", 1)));
  EXPECT_EQ(chain::reason_problem("verify.token_mismatch"), "");
  EXPECT_EQ(chain::reason_problem("verify.stop_rule"), "");
  EXPECT_NE(chain::reason_problem(""), "");
  EXPECT_NE(chain::reason_problem("Verify"), "");
  EXPECT_NE(chain::reason_problem("verify token"), "");
  EXPECT_NE(chain::reason_problem(std::string(chain::kMaxReasonBytes + 1, 'a')), "");
}

}  // namespace
}  // namespace ig::testing
