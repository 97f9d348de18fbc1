// infergrid-infer end to end: generate writes a receipt file, verify accepts
// it, a tampered file is rejected (exit 1), bad inputs are errors (exit 2).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
const std::string kBin = INFERGRID_INFER_BIN;
const std::string kModel = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";

int run(const std::string& args, std::string* out = nullptr) {
  const fs::path log = fs::temp_directory_path() / ("ig_cli_" + std::to_string(::getpid()) + ".out");
  const int st = std::system((kBin + " " + args + " > " + log.string() + " 2>&1").c_str());
  if (out) {
    std::ifstream in(log);
    out->assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove(log);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(ReceiptCli, GenerateThenVerifyAndRejectTampering) {
  const fs::path dir = fs::temp_directory_path() / ("ig_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string receipt = (dir / "r.json").string();
  std::string out;
  ASSERT_EQ(run("generate --model " + kModel + " --prompt 'Once upon a time' --max-tokens 24 "
                "--temperature 0.7 --top-k 40 --top-p .95 --seed 5 --threads 2 --json --receipt " + receipt, &out), 0)
      << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["output_ids"].size(), 24u);
  EXPECT_EQ(j["prompt_tokens"], 5);
  EXPECT_EQ(j["receipt"].get<std::string>().size(), 2 * (170 + j["numerics"].get<std::string>().size()));

  // The file carries the parameters as the chain does, in thousandths.
  std::ifstream in(receipt);
  auto r = nlohmann::json::parse(in);
  in.close();
  EXPECT_EQ(r["params"], nlohmann::json({{"max_tokens", 24}, {"temperature_milli", 700}, {"top_k", 40},
                                          {"top_p_milli", 950}, {"seed", 5}}));
  EXPECT_EQ(r["prompt"], "Once upon a time");
  EXPECT_EQ(r["receipt"], j["receipt"]);
  EXPECT_EQ(r["receipt_fields"]["backend"], j["numerics"]);

  // auto: exact on the same numerics, tolerant on the reference backend's.
  ASSERT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --json", &out), 0) << out;
  auto v = nlohmann::json::parse(out);
  EXPECT_TRUE(v["accepted"].get<bool>());
  EXPECT_EQ(v["mode"], "exact");
  ASSERT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --backend reference --json", &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["mode"], "tolerant");
  EXPECT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --mode tolerant"), 0);
  EXPECT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --mode sloppy"), 2);

  // Change output token 3 and its fingerprint, keeping the file well-formed but the receipt
  // stale: rejected with a hash mismatch.
  auto t = r;
  t["output"][3] = (t["output"][3].get<int>() + 1) % 512;
  t["fingerprints"][3][0] = t["output"][3];
  std::ofstream(receipt) << t.dump();
  ASSERT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --json", &out), 1) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["code"], "verify.output_mismatch");
  // Changed parameters: refused.
  t = r;
  t["params"]["seed"] = 6;
  std::ofstream(receipt) << t.dump();
  ASSERT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --json", &out), 1) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["code"], "verify.params_mismatch");
  // A damaged file is an error, not a verdict.
  t = r;
  t["receipt_fields"]["steps"] = 3;
  std::ofstream(receipt) << t.dump();
  EXPECT_EQ(run("verify --model " + kModel + " --receipt " + receipt, &out), 2);
  EXPECT_NE(out.find("result.bad_bundle"), std::string::npos) << out;

  EXPECT_EQ(run("verify --model " + kModel + " --receipt " + kModel), 2);  // not JSON
  EXPECT_EQ(run("generate --model " + receipt + " --prompt x"), 2);           // not GGUF
  EXPECT_EQ(run("generate --model " + kModel + " --prompt x --backend tpu"), 2);
  EXPECT_EQ(run("generate --model " + kModel + " --prompt-ids 1,99999"), 2);
  fs::remove_all(dir);
}

TEST(ReceiptCli, DecimalsAreReadExactlyIntoThousandths) {
  const fs::path dir = fs::temp_directory_path() / ("ig_cli_d_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string receipt = (dir / "r.json").string();
  const std::string gen = "generate --model " + kModel + " --prompt 'Hi' --max-tokens 4 --threads 1 ";
  auto params_of = [&](const std::string& flags) {
    std::string out;
    EXPECT_EQ(run(gen + flags + " --receipt " + receipt, &out), 0) << out;
    std::ifstream in(receipt);
    return nlohmann::json::parse(in)["params"];
  };
  EXPECT_EQ(params_of("--temperature 0.8 --top-p 0.95")["temperature_milli"], 800);
  EXPECT_EQ(params_of("--temperature 1.005 --top-p 1")["temperature_milli"], 1005);  // no float rounding
  EXPECT_EQ(params_of("--temperature 2 --top-p .001")["top_p_milli"], 1);
  EXPECT_EQ(params_of("--temperature 100")["temperature_milli"], 100000);
  EXPECT_EQ(params_of("--temperature 0 --seed 18446744073709551615")["seed"].get<uint64_t>(), 18446744073709551615ull);
  std::string out;
  EXPECT_EQ(run(gen + "--temperature 0.8125", &out), 2);
  EXPECT_NE(out.find("at most 3 decimals"), std::string::npos) << out;
  EXPECT_EQ(run(gen + "--top-p 0.9999", &out), 2);
  EXPECT_NE(out.find("at most 3 decimals"), std::string::npos) << out;
  for (const char* bad : {"--temperature abc", "--temperature -1", "--temperature 1e-3", "--temperature 100.001",
                          "--temperature .", "--temperature 2.", "--top-p 1.5", "--top-p 0", "--top-p ''", "--temperature 0x10"})
    EXPECT_EQ(run(gen + bad, &out), 2) << bad << ": " << out;
  // A receipt commits to the prompt text, so token ids alone cannot make one.
  EXPECT_EQ(run("generate --model " + kModel + " --prompt-ids 1,403 --max-tokens 4 --receipt " + receipt, &out), 2);
  EXPECT_NE(out.find("infer.receipt_needs_prompt"), std::string::npos) << out;
  EXPECT_EQ(run("generate --model " + kModel + " --prompt-ids 1,403,407 --max-tokens 4 --json", &out), 0) << out;
  fs::remove_all(dir);
}

}  // namespace
