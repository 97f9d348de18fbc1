// The signer's double-sign rules (docs/consensus.md §4) and its persisted state.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "chain/consensus/signer.hpp"
#include "tests/chain/consensus/helpers.hpp"

namespace ig::chain::bft::testing {
namespace {

const Hash kA = sha256(view(std::string("a")));
const Hash kB = sha256(view(std::string("b")));

TEST(BftSigner, RulesFollowHeightRoundStepOrder) {
  SignerState last{5, 2, SignStep::kPrevote, kA, {}};
  last.signature[0] = 7;
  auto ok = [&](uint64_t h, uint32_t r, SignStep s) { return check_sign_request(last, h, r, s, kB); };
  EXPECT_TRUE(ok(5, 2, SignStep::kPrecommit));  // later step, same round
  EXPECT_TRUE(ok(5, 3, SignStep::kPropose));    // later round
  EXPECT_TRUE(ok(6, 0, SignStep::kPropose));    // later height
  EXPECT_EQ(ok(5, 2, SignStep::kPropose).error().code, "signer.regression");  // a proposal after the prevote
  EXPECT_EQ(ok(5, 1, SignStep::kPrecommit).error().code, "signer.regression");
  EXPECT_EQ(ok(4, 9, SignStep::kPrecommit).error().code, "signer.regression");
  EXPECT_EQ(ok(5, 2, SignStep::kPrevote).error().code, "signer.conflict");  // same HRS, other bytes (nil included)
  auto same = check_sign_request(last, 5, 2, SignStep::kPrevote, kA);
  ASSERT_TRUE(same && *same);
  EXPECT_EQ(**same, last.signature);  // same HRS, same bytes: the stored signature again
  EXPECT_TRUE(check_sign_request(SignerState{}, 1, 0, SignStep::kPropose, kA));
}

TEST(BftSigner, MemorySignerSignsOnlyForward) {
  MemorySigner s(test_key(0));
  auto p = s.sign(1, 0, SignStep::kPrevote, kA);
  ASSERT_TRUE(p);
  EXPECT_TRUE(verify_signature(s.public_key(), kA, *p));
  EXPECT_EQ(*s.sign(1, 0, SignStep::kPrevote, kA), *p);
  EXPECT_FALSE(s.sign(1, 0, SignStep::kPrevote, kB));
  EXPECT_TRUE(s.sign(1, 0, SignStep::kPrecommit, kB));
  EXPECT_FALSE(s.sign(1, 0, SignStep::kPrevote, kA));
}

TEST(BftSigner, FileSignerPersistsBeforeReturningAndSurvivesReopen) {
  TempDir dir;
  const std::string path = dir.sub("signer_state.json");
  Signature first{};
  {
    auto s = FileSigner::open(path, test_key(0));
    ASSERT_TRUE(s) << s.error().to_string();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto sig = (*s)->sign(3, 1, SignStep::kPrevote, kA);
    ASSERT_TRUE(sig);
    first = *sig;
  }
  auto s = FileSigner::open(path, test_key(0));
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ((*s)->state().height, 3u);
  EXPECT_EQ((*s)->state().round, 1u);
  EXPECT_EQ((*s)->state().step, SignStep::kPrevote);
  EXPECT_EQ(*(*s)->sign(3, 1, SignStep::kPrevote, kA), first);  // re-request after a crash
  EXPECT_EQ((*s)->sign(3, 1, SignStep::kPrevote, kB).error().code, "signer.conflict");
  EXPECT_EQ((*s)->sign(3, 0, SignStep::kPrecommit, kB).error().code, "signer.regression");
  // Another key may not take this state over.
  EXPECT_EQ(FileSigner::open(path, test_key(1)).error().code, "signer.wrong_key");
}

TEST(BftSigner, AnInjectedCrashAfterTheWriteKeepsTheStateAndReturnsNothing) {
  TempDir dir;
  const std::string path = dir.sub("state.json");
  FileSigner::Options o;
  o.hook = [](std::string_view point) { return point != "signer.state"; };
  auto s = FileSigner::open(path, test_key(0), o);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->sign(1, 0, SignStep::kPropose, kA).error().code, "crash.injected");
  EXPECT_EQ((*s)->sign(1, 0, SignStep::kPrevote, kA).error().code, "signer.dead");
  auto again = FileSigner::open(path, test_key(0));
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->state().step, SignStep::kPropose);  // persisted before the "crash"
  EXPECT_EQ((*again)->state().sign_hash, kA);
}

TEST(BftSigner, StateFileDecodingIsStrict) {
  const PublicKey pub = test_key(0).public_key();
  SignerState st{12, 3, SignStep::kPrecommit, kA, {}};
  std::string good = encode_signer_state(pub, st);
  auto back = decode_signer_state(good, pub);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, st);
  EXPECT_FALSE(decode_signer_state("{}", pub));
  EXPECT_FALSE(decode_signer_state("not json", pub));
  std::string bad_step = good;
  bad_step.replace(bad_step.find("\"step\": 3"), 9, "\"step\": 4");
  EXPECT_EQ(decode_signer_state(bad_step, pub).error().code, "signer.bad_state");
  std::string bad_height = good;
  bad_height.replace(bad_height.find("\"12\""), 4, "\"-1\"");
  EXPECT_EQ(decode_signer_state(bad_height, pub).error().code, "signer.bad_state");
}

}  // namespace
}  // namespace ig::chain::bft::testing
