// One real Tendermint core (validator `me`) whose peers the test plays by hand, as CometBFT's
// consensus/state_test.go does with its validator stubs.
#pragma once

#include <memory>

#include "tests/chain/consensus/helpers.hpp"

namespace ig::chain::bft::testing {

class CoreTest : public ::testing::Test {
 public:
  explicit CoreTest(size_t n = 4) : ks(n), sched(*ValidatorSet::make(ks.validators)) {}

  size_t proposer_of(uint64_t h, uint32_t r) { return sched.proposer(h, r); }
  // A validator that is not the proposer of any of `rounds` at height 1.
  size_t non_proposer(std::initializer_list<uint32_t> rounds) {
    for (size_t i = 0; i < ks.keys.size(); ++i) {
      bool ok = true;
      for (uint32_t r : rounds) ok = ok && proposer_of(1, r) != i;
      if (ok) return i;
    }
    throw std::runtime_error("no such validator");
  }
  void make(size_t index, CoreConfig cfg = {}) {
    me = index;
    signer = std::make_unique<MemorySigner>(ks.keys[me]);
    core = std::make_unique<Tendermint>(kChain, signer.get(), cfg);
  }
  Output start(uint64_t h = 1) { return core->start_height(h, ks.validators); }
  // The first `count` validators other than me (and other than `skip`).
  std::vector<size_t> others(size_t count, size_t skip = SIZE_MAX) {
    std::vector<size_t> out;
    for (size_t i = 0; i < ks.keys.size() && out.size() < count; ++i)
      if (i != me && i != skip) out.push_back(i);
    return out;
  }
  Block block(uint64_t tag, uint64_t h = 1) { return make_block(h, tag); }
  Output propose(uint32_t r, const Block& b, int32_t pol = -1, bool valid = true, uint64_t h = 1) {
    return core->on_proposal(signed_proposal(ks.keys[proposer_of(h, r)], h, r, pol, b), valid);
  }
  Output votes(const std::vector<size_t>& who, uint8_t type, uint32_t r, const Hash& v, uint64_t h = 1) {
    Output all;
    for (size_t i : who) {
      Output o = core->on_vote(signed_vote(ks.keys[i], type, h, r, v));
      EXPECT_FALSE(o.rejected) << o.rejected->to_string();
      all.merge(std::move(o));
    }
    return all;
  }
  static std::optional<TimeoutRequest> find_timeout(const Output& o, Step s) {
    for (const auto& t : o.timeouts)
      if (t.step == s) return t;
    return std::nullopt;
  }
  // My single vote of `type` in `o` (fails the test if there is not exactly one).
  static Vote my_vote(const Output& o, uint8_t type) {
    std::vector<Vote> v;
    for (const auto& x : o.votes)
      if (x.type == type) v.push_back(x);
    EXPECT_EQ(v.size(), 1u);
    return v.empty() ? Vote{} : v[0];
  }
  static bool has_vote(const Output& o, uint8_t type) {
    for (const auto& x : o.votes)
      if (x.type == type) return true;
    return false;
  }

  Keys ks;
  ProposerSchedule sched;
  size_t me = 0;
  std::unique_ptr<MemorySigner> signer;
  std::unique_ptr<Tendermint> core;
};

}  // namespace ig::chain::bft::testing
