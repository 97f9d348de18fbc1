// infergrid-yuma: case parsing (shapes, conversions) and the process contract — exit 0 on
// success, 1 on mismatched facts, 2 on malformed input — with a clear message for each.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "contracts/epoch.hpp"
#include "contracts/params.hpp"
#include "contracts/yuma/tool/case.hpp"
#include "contracts/yuma/tool/simulate.hpp"

namespace fs = std::filesystem;
using namespace ig::yuma;
using namespace ig::yuma::tool;

namespace {

struct ProcessResult {
  int code = -1;
  std::string out, err;
};

class YumaRunner : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("yuma_runner_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }

  static std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  ProcessResult run(const std::string& args) {
    const std::string cmd = std::string(YUMA_TOOL) + " " + args + " > " + (dir_ / "out").string() + " 2> " +
                            (dir_ / "err").string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir_ / "out"), slurp(dir_ / "err")};
  }

  ProcessResult run_case(const std::string& text, const std::string& extra = "--check") {
    return run(write("case.in.json", text).string() + " " + extra);
  }

  fs::path dir_;
};

std::string parse_error(const std::string& text) {
  auto c = parse_case(nlohmann::json::parse(text));
  return c ? "" : c.error().message;
}

}  // namespace

TEST_F(YumaRunner, GoodCasePassesItsFactsAndWritesTheOutput) {
  const ProcessResult r = run_case(R"({"stake": [1, 0], "params": {"yuma3": true},
    "epochs": [{"block": 10, "set_weights": {"0": [0, 1]}}],
    "expect": {"epochs": {"0": {"incentive": [0, 65535], "emission": {"1": 500000000}}}}})",
                         "--check -o " + (dir_ / "o.json").string());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("3 facts checked, 3 pass, 0 mismatches"), std::string::npos) << r.out;
  const auto doc = nlohmann::json::parse(slurp(dir_ / "o.json"));
  EXPECT_EQ(doc["n"], 2);
  EXPECT_EQ(doc["epochs"][0]["incentive"], nlohmann::json::parse("[0, 65535]"));
  EXPECT_EQ(doc["final"]["block"], 10);
}

TEST_F(YumaRunner, WrongFactsExitOneAndNameEachMismatch) {
  const ProcessResult r = run_case(R"({"stake": [1, 0], "epochs": [{"block": 10, "set_weights": {"0": [0, 1]}}],
    "expect": {"tolerance": {"f": 0.001}, "epochs": {"0": {"incentive": {"1": 65000}, "dividends_f": [0.99, 0], "consensus": [0]},
                                                      "3": {"incentive": [0, 0]}}}})");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("MISMATCH epochs[0].incentive[1]: expected 65000, got 65535"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MISMATCH epochs[0].dividends_f[0]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MISMATCH epochs[0].consensus: expected 1 values"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MISMATCH epochs[3]: the schedule has no such epoch"), std::string::npos) << r.out;
}

TEST_F(YumaRunner, FloatFactsUseTheCaseTolerance) {
  const std::string body = R"({"stake": [1, 0], "epochs": [{"block": 10, "set_weights": {"0": [0, 1]}}],
    "expect": {"tolerance": {"f": TOL}, "epochs": {"0": {"dividends_f": [0.9995, 0]}}}})";
  std::string loose = body, tight = body;
  loose.replace(loose.find("TOL"), 3, "0.001");
  tight.replace(tight.find("TOL"), 3, "0.0001");
  EXPECT_EQ(run_case(loose).code, 0);
  EXPECT_EQ(run_case(tight).code, 1);
}

TEST_F(YumaRunner, MalformedJsonExitsTwo) {
  const ProcessResult r = run_case(R"({"stake": [1, 2)");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("malformed JSON"), std::string::npos) << r.err;
  // Valid syntax, but a number no double holds: the JSON library reports it as out_of_range,
  // which a catch of parse_error alone let escape (the runner died with an uncaught exception).
  const ProcessResult huge = run_case(R"({"stake": [1e400, 2]})");
  EXPECT_EQ(huge.code, 2);
  EXPECT_NE(huge.err.find("malformed JSON"), std::string::npos) << huge.err;
}

TEST_F(YumaRunner, MissingFileAndBadArgumentsExitTwo) {
  EXPECT_EQ(run((dir_ / "nope.json").string()).code, 2);
  EXPECT_EQ(run("").code, 2);
  EXPECT_EQ(run_case(R"({"stake": [1]})", "--no-such-flag").code, 2);
}

TEST_F(YumaRunner, RaggedAndOutOfRangeInputsExitTwoWithThePath) {
  ProcessResult r = run_case(R"({"stake": [1, 1, 1], "weights": [[1, 2, 3], [1, 2], null]})");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("weights[1]: has 2 entries, expected 3"), std::string::npos) << r.err;
  r = run_case(R"({"stake": [1, 1], "epochs": [{"set_weights": {"5": {"0": 1}}}]})");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("uid 5 out of range (n = 2)"), std::string::npos) << r.err;
  r = run_case(R"({"stake": [1, 1], "epochs": [{"replace": [{"uid": 2, "block": 3}]}]})");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("epochs[0].replace[0].uid"), std::string::npos) << r.err;
}

TEST_F(YumaRunner, EpochLevelErrorsExitTwo) {
  const ProcessResult r = run_case(R"({"stake": [1, 1], "params": {"owner_uid": 7}})");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("owner_uid"), std::string::npos) << r.err;
}

TEST(YumaCase, ShapeErrorsNameTheField) {
  EXPECT_NE(parse_error(R"({"weights": []})").find("\"stake\" is required"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": []})").find("at least one uid"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [-1]})").find("stake[0]"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1, "x"]})").find("stake[1]"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1], "params": {"kapa": 1}})").find("unknown key \"kapa\""), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1], "params": {"kappa": 70000}})").find("params.kappa"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1, 1], "weights": [{"0": 65536}, null]})").find("weights[0]"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1, 1], "weights": [{"x": 1}, null]})").find("is not a uid"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1, 1], "bonds_prev": [[1, 2], [3]]})").find("bonds_prev[1]"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1, 1], "last_update": [1]})").find("last_update"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1], "validator_permits": [1]})").find("validator_permits[0]"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1], "epochs": [{"blok": 1}]})").find("epochs[0]: unknown key"), std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1], "epochs": [{"params": {"tempo": -1}}]})").find("params.tempo"), std::string::npos);
}

TEST(YumaCase, WeightsAreStoredAsSetWeightsWouldStoreThem) {
  auto c = parse_case(nlohmann::json::parse(R"({"stake": [1, 1, 1],
    "weights": [[0, 1, 2], {"0": 3, "2": 0}, null],
    "epochs": [{"set_weights": {"2": [0.2, 0.4, 0.0]}}]})"));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  // Dense int row: zeros dropped, then max-upscaled (1/2 · 65535 = 32767.5 → 32768).
  EXPECT_EQ(c->weights[0], (U16Row{{1, 32768}, {2, 65535}}));
  // Object row: explicit zeros kept.
  EXPECT_EQ(c->weights[1], (U16Row{{0, 65535}, {2, 0}}));
  EXPECT_TRUE(c->weights[2].empty());
  // Float row, SDK-style: 0.2/0.4 · 65535 = 32767.5 → half to even 32768, zero dropped.
  EXPECT_EQ(c->epochs[0].set_weights.at(2), (U16Row{{0, 32768}, {1, 65535}}));
}

TEST(YumaCase, FloatStakeConvertsExactlyToQ64) {
  auto c = parse_case(nlohmann::json::parse(R"({"stake": [0.5, 3, 1e-30]})"));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->stake[0].raw, u128{1} << 63);
  EXPECT_EQ(c->stake[1], Q64::from_u64(3));
  EXPECT_EQ(c->stake[2].raw, 0u);  // below half of 2^-64 rounds to 0
}

TEST_F(YumaRunner, ReferenceComparisonAcceptsItsOwnOutputAndFlagsATamperedOne) {
  const std::string text = R"({"stake": [3, 1, 0, 0], "params": {"yuma3": true, "liquid_alpha": true},
    "epochs": [{"block": 10, "set_weights": {"0": [0, 0, 5, 1], "1": {"2": 1, "3": 9}}}, {}, {}]})";
  const fs::path ref = dir_ / "ref.json";
  ASSERT_EQ(run_case(text, "-o " + ref.string()).code, 0);
  EXPECT_EQ(run_case(text, "--reference " + ref.string()).code, 0);
  auto doc = nlohmann::json::parse(slurp(ref));
  doc["epochs"][2]["dividends"][1] = doc["epochs"][2]["dividends"][1].get<int>() + 1;
  std::ofstream(ref) << doc.dump();
  const ProcessResult r = run_case(text, "--reference " + ref.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("MISMATCH epochs[2].dividends[1]"), std::string::npos) << r.out;
}

namespace {

std::vector<EpochRecord> simulate_text(const std::string& text) {
  auto c = parse_case(nlohmann::json::parse(text));
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  auto records = simulate(*c);
  EXPECT_TRUE(records.has_value()) << (records ? "" : records.error().to_string());
  return records ? *records : std::vector<EpochRecord>{};
}

std::uint64_t paid(const EpochRecord& r) {
  std::uint64_t total = 0;
  for (std::size_t k = 0; k < r.out.emission.size(); ++k) total += r.out.server_emission[k] + r.out.validator_emission[k];
  return total;
}

}  // namespace

TEST(YumaSchedule, BlocksDefaultToCurrentBlockThenTempoSteps) {
  const auto r = simulate_text(R"({"stake": [1, 0], "params": {"tempo": 7, "current_block": 100}, "epochs": [{}, {}, {"block": 500}, {}]})");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].block, 100u);
  EXPECT_EQ(r[1].block, 107u);
  EXPECT_EQ(r[2].block, 500u);
  EXPECT_EQ(r[3].block, 507u);
}

TEST(YumaSchedule, ParameterOverridesPersistAndStakeCanBeReplaced) {
  const auto r = simulate_text(R"({"stake": [1, 3], "epochs": [{}, {"params": {"rao_emission": 1000}, "stake": [1, 1]}, {}]})");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(paid(r[0]), 1000000000u);
  EXPECT_EQ(paid(r[1]), 1000u);
  EXPECT_EQ(paid(r[2]), 1000u);
  EXPECT_EQ(to_u16(r[0].out.stake_weight), (std::vector<std::uint16_t>{16383, 49151}));
  EXPECT_EQ(to_u16(r[1].out.stake_weight), (std::vector<std::uint16_t>{32767, 32767}));
}

TEST(YumaSchedule, ReplacementMasksOldWeightsUntilTheValidatorSetsNewOnes) {
  // uid1 is re-registered at block 15: uid0's weight on it (set at 10) is outdated at 20,
  // and counts again once uid0 sets weights after the registration.
  const auto r = simulate_text(R"({"stake": [1, 0], "block_at_registration": [1, 1],
    "epochs": [{"block": 10, "set_weights": {"0": [0, 1]}},
               {"block": 20, "replace": [{"uid": 1, "block": 15}]},
               {"block": 30, "set_weights": {"0": [0, 1]}}]})");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(to_u16(r[0].out.incentive), (std::vector<std::uint16_t>{0, 65535}));
  EXPECT_EQ(to_u16(r[1].out.incentive), (std::vector<std::uint16_t>{0, 0}));
  EXPECT_EQ(to_u16(r[2].out.incentive), (std::vector<std::uint16_t>{0, 65535}));
}

TEST(YumaSchedule, ResetBondsDropsTheColumnBeforeTheEpoch) {
  const auto r = simulate_text(R"({"stake": [1, 0, 0], "params": {"yuma3": true},
    "epochs": [{"block": 10, "set_weights": {"0": [0, 1, 1]}}, {"reset_bonds": [1]}]})");
  ASSERT_EQ(r.size(), 2u);
  // Epoch 0 bonds both miners equally; after the reset miner 1 starts again from 0.
  ASSERT_EQ(r[0].out.bonds[0].size(), 2u);
  ASSERT_EQ(r[1].out.bonds[0].size(), 2u);
  EXPECT_LT(r[1].out.bonds[0][0].val, r[1].out.bonds[0][1].val);
}

// Fault 4 of issue 7: "params": {} must mean what it means on this chain, not subtensor's
// storage defaults (which differ in Yuma3, validator permits, tempo and the activity cutoff).
TEST(YumaDefaults, EmptyParamsAreTheChainsOwnParameters) {
  const ig::contracts::Params chain;  // the genesis "contracts" defaults
  for (const char* text : {R"({"stake": [1, 1], "params": {}})", R"({"stake": [1, 1]})"}) {
    SCOPED_TRACE(text);
    auto c = parse_case(nlohmann::json::parse(text));
    ASSERT_TRUE(c.has_value()) << c.error().message;
    const Params& p = c->params.epoch;
    EXPECT_TRUE(p.yuma3);
    EXPECT_EQ(p.yuma3, chain.yuma3);
    EXPECT_EQ(p.max_allowed_validators, 64);
    EXPECT_EQ(p.max_allowed_validators, chain.max_allowed_validators);
    EXPECT_EQ(p.kappa, chain.kappa);
    EXPECT_EQ(p.bonds_penalty, chain.bonds_penalty);
    EXPECT_EQ(p.bonds_moving_average, chain.bonds_moving_average);
    EXPECT_EQ(p.liquid_alpha, chain.liquid_alpha);
    EXPECT_EQ(p.alpha_low, chain.alpha_low);
    EXPECT_EQ(p.alpha_high, chain.alpha_high);
    EXPECT_EQ(p.tempo, chain.tempo);
    EXPECT_EQ(p.activity_cutoff, std::optional<std::uint64_t>(chain.activity_cutoff));
    // The chain's weights contract does commit-reveal itself, so its epoch runs without it.
    EXPECT_FALSE(p.commit_reveal);
    // ...and exactly the mapping the chain's epoch uses, field for field.
    const Params mapped = ig::contracts::epoch::yuma_params(chain);
    EXPECT_EQ(params_to_json(c->params), params_to_json(CaseParams{mapped}));
  }
}

TEST(YumaDefaults, StorageDefaultsAreAnExplicitChoice) {
  auto c = parse_case(nlohmann::json::parse(R"({"stake": [1, 1], "params": {}})"), Defaults::kStorage);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_FALSE(c->params.epoch.yuma3);
  EXPECT_EQ(c->params.epoch.max_allowed_validators, 128);
  EXPECT_EQ(c->params.epoch.tempo, 360u);
  EXPECT_FALSE(c->params.epoch.activity_cutoff.has_value());
  EXPECT_TRUE(parse_defaults("chain").has_value());
  EXPECT_EQ(*parse_defaults("storage"), Defaults::kStorage);
  EXPECT_FALSE(parse_defaults("subtensor").has_value());
}

TEST_F(YumaRunner, EmptyParamsRunWithTheChainsParametersAndDefaultsCanBeChosen) {
  // 70 equal stakes: with the chain's K = 64 six uids get no permit; with storage K = 128 all do.
  std::string stake = "[";
  for (int k = 0; k < 70; ++k) stake += std::string(k ? "," : "") + "1";
  stake += "]";
  const std::string text = R"({"stake": )" + stake + R"(, "params": {}})";
  ProcessResult r = run_case(text, "");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["params"]["yuma3"], true);
  EXPECT_EQ(doc["params"]["max_allowed_validators"], 64);
  int permits = 0;
  for (const auto& p : doc["final"]["new_validator_permits"]) permits += p.get<bool>() ? 1 : 0;
  EXPECT_EQ(permits, 64);

  r = run_case(text, "--defaults storage");
  ASSERT_EQ(r.code, 0) << r.err;
  doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["params"]["yuma3"], false);
  EXPECT_EQ(doc["params"]["max_allowed_validators"], 128);
  permits = 0;
  for (const auto& p : doc["final"]["new_validator_permits"]) permits += p.get<bool>() ? 1 : 0;
  EXPECT_EQ(permits, 70);

  r = run_case(text, "--defaults bittensor");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--defaults"), std::string::npos) << r.err;
}

// yuma.md §13: a case may list weight rows for the first uids only (the validators); the
// remaining uids set no weights.
TEST(YumaCase, ShortWeightListsMeanTheRemainingUidsSetNoWeights) {
  auto shorter = parse_case(nlohmann::json::parse(R"({"stake": [5, 3, 0, 0], "weights": [[0, 0, 1, 2], {"3": 7}]})"));
  auto explicit_rows = parse_case(
      nlohmann::json::parse(R"({"stake": [5, 3, 0, 0], "weights": [[0, 0, 1, 2], {"3": 7}, null, []]})"));
  ASSERT_TRUE(shorter.has_value()) << shorter.error().message;
  ASSERT_TRUE(explicit_rows.has_value()) << explicit_rows.error().message;
  ASSERT_EQ(shorter->weights.size(), 4u);
  EXPECT_EQ(shorter->weights, explicit_rows->weights);
  EXPECT_TRUE(shorter->weights[2].empty());
  EXPECT_TRUE(shorter->weights[3].empty());
  EXPECT_EQ(shorter->weights[1], (U16Row{{3, 65535}}));
  // Short bond matrices read the same way.
  auto bonds = parse_case(nlohmann::json::parse(R"({"stake": [1, 1, 1], "bonds_prev": [[0, 9, 0]]})"));
  ASSERT_TRUE(bonds.has_value()) << bonds.error().message;
  EXPECT_EQ(bonds->bonds, (std::vector<U16Row>{{{1, 9}}, {}, {}}));
  // More rows than uids is still an error, and a row itself must still be complete.
  EXPECT_NE(parse_error(R"({"stake": [1, 1], "weights": [null, null, null]})").find("weights: has 3 rows, expected at most 2"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"stake": [1, 1, 1], "weights": [[1, 2]]})").find("weights[0]: has 2 entries, expected 3"),
            std::string::npos);
}

TEST_F(YumaRunner, ShortWeightListGivesTheSameOutputAsExplicitEmptyRows) {
  const ProcessResult shorter = run_case(R"({"stake": [10, 5, 0, 0, 0], "weights": [[0, 0, 3, 1, 0], [0, 0, 1, 1, 1]],
    "epochs": [{"block": 10}, {}]})", "");
  const ProcessResult full = run_case(R"({"stake": [10, 5, 0, 0, 0],
    "weights": [[0, 0, 3, 1, 0], [0, 0, 1, 1, 1], null, null, null], "epochs": [{"block": 10}, {}]})", "");
  ASSERT_EQ(shorter.code, 0) << shorter.err;
  ASSERT_EQ(full.code, 0) << full.err;
  EXPECT_EQ(nlohmann::json::parse(shorter.out), nlohmann::json::parse(full.out));
  EXPECT_NE(nlohmann::json::parse(shorter.out)["final"]["incentive"][2], 0);
}
