// Double-sign evidence through real blocks: valid evidence slashes at once and removes the
// validator at the next epoch boundary; evidence that does not prove a double-sign is refused.
#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

bool has_error(const Receipt& r, const std::string& code) { return r.error.find(code) != std::string::npos; }

class ContractsSlashing : public ::testing::Test {
 protected:
  ContractsSlashing() : net(short_params_json(), 4, 10'000, {"reporter"}) {}
  Receipt report(chain::Evidence e) { return net.run_tx(net.tx(net.actor("reporter"), e)); }
  chain::Evidence double_sign(const SecretKey& k, uint64_t height = 3, uint32_t round = 0) {
    return {signed_vote(k, height, round, hash_of("block-a")), signed_vote(k, height, round, hash_of("block-b"))};
  }
  Net net;
};

TEST_F(ContractsSlashing, ValidEvidenceSlashesAndRemovesAtTheBoundary) {
  net.run_to(3);
  const SecretKey& culprit = net.validator(1).consensus;
  const Address account = net.validator(1).account.addr();
  const Amount supply = net.supply();
  Receipt r = report(double_sign(culprit));
  ASSERT_EQ(r.code, TxCode::kOk) << r.error;
  EXPECT_EQ(net.stakes(account).validator, 5'000u);  // 50% of 10,000 burned
  EXPECT_EQ(net.supply(), supply - 5'000);
  auto slash = net.events("slash");
  ASSERT_EQ(slash.size(), 1u);
  EXPECT_EQ(attr(slash[0], "account"), address_to_string(account));
  EXPECT_EQ(attr(slash[0], "amount"), "5000");
  EXPECT_EQ(net.events("double_sign").size(), 1u);
  EXPECT_TRUE(ct::staking::get_validator(net.state(), culprit.public_key())->removed);
  EXPECT_EQ(net.validator_set().size(), 4u);  // still signing until the epoch ends
  net.run_to(9);
  auto vs = net.validator_set();
  ASSERT_EQ(vs.size(), 3u);
  for (const auto& v : vs) EXPECT_NE(v.consensus_key, culprit.public_key());
  net.run_to(12);  // the three remaining validators carry the chain
  // The same double-sign again, or a second one at that height, is not punished twice.
  EXPECT_TRUE(has_error(report(double_sign(culprit)), "evidence.duplicate"));
  EXPECT_TRUE(has_error(report(double_sign(culprit, 3, 1)), "evidence.duplicate"));
  EXPECT_EQ(net.stakes(account).validator, 5'000u);
}

TEST_F(ContractsSlashing, PrevotesCountToo) {
  const SecretKey& k = net.validator(2).consensus;
  chain::Evidence e{signed_vote(k, 7, 1, hash_of("x"), 1), signed_vote(k, 7, 1, hash_of("y"), 1)};
  ASSERT_EQ(report(e).code, TxCode::kOk);
  EXPECT_EQ(net.stakes(net.validator(2).account.addr()).validator, 5'000u);
}

TEST_F(ContractsSlashing, EvidenceThatProvesNothingIsRefused) {
  const SecretKey& k = net.validator(0).consensus;
  const SecretKey& other = net.validator(3).consensus;
  auto same_block = chain::Evidence{signed_vote(k, 3, 0, hash_of("a")), signed_vote(k, 3, 0, hash_of("a"))};
  EXPECT_TRUE(has_error(report(same_block), "evidence.not_conflicting"));
  auto heights = chain::Evidence{signed_vote(k, 3, 0, hash_of("a")), signed_vote(k, 4, 0, hash_of("b"))};
  EXPECT_TRUE(has_error(report(heights), "evidence.not_conflicting"));
  auto rounds = chain::Evidence{signed_vote(k, 3, 0, hash_of("a")), signed_vote(k, 3, 1, hash_of("b"))};
  EXPECT_TRUE(has_error(report(rounds), "evidence.not_conflicting"));
  auto steps = chain::Evidence{signed_vote(k, 3, 0, hash_of("a"), 1), signed_vote(k, 3, 0, hash_of("b"), 2)};
  EXPECT_TRUE(has_error(report(steps), "evidence.not_conflicting"));
  auto signers = chain::Evidence{signed_vote(k, 3, 0, hash_of("a")), signed_vote(other, 3, 0, hash_of("b"))};
  EXPECT_TRUE(has_error(report(signers), "evidence.different_signers"));
  auto forged = double_sign(k);
  forged.b.signature[10] ^= 1;
  EXPECT_TRUE(has_error(report(forged), "evidence.bad_signature"));
  auto relabelled = double_sign(k);
  relabelled.b.block_hash = hash_of("block-c");  // signature was for block-b
  EXPECT_TRUE(has_error(report(relabelled), "evidence.bad_signature"));
  SecretKey stranger = key_from_seed("not-a-validator");
  Receipt unknown = report(double_sign(stranger));
  EXPECT_EQ(unknown.code, TxCode::kNotFound);
  EXPECT_TRUE(has_error(unknown, "evidence.unknown_validator"));
  // Votes signed for another chain do not verify on this one.
  chain::Evidence foreign{double_sign(k)};
  foreign.a.signature = k.sign(vote_signing_hash("other-chain", 2, 3, 0, hash_of("block-a")));
  foreign.b.signature = k.sign(vote_signing_hash("other-chain", 2, 3, 0, hash_of("block-b")));
  EXPECT_TRUE(has_error(report(foreign), "evidence.bad_signature"));
  EXPECT_TRUE(net.events("slash").empty());
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(net.stakes(net.validator(i).account.addr()).validator, 10'000u);
}

}  // namespace
}  // namespace ig::testing
