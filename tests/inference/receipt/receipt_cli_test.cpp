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
                "--temperature 0.7 --top-k 40 --seed 5 --threads 2 --json --receipt " + receipt, &out), 0)
      << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["output_ids"].size(), 24u);
  EXPECT_EQ(j["prompt_tokens"], 5);

  ASSERT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --json", &out), 0) << out;
  EXPECT_TRUE(nlohmann::json::parse(out)["accepted"].get<bool>());
  EXPECT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --mode tolerant --backend reference"), 0);

  // Change output token 3 and its fingerprint, keeping the file well-formed
  // but the receipt stale: rejected with a hash mismatch.
  std::ifstream in(receipt);
  auto r = nlohmann::json::parse(in);
  r["output_ids"][3] = (r["output_ids"][3].get<int>() + 1) % 512;
  r["fingerprints"][3][0] = r["output_ids"][3];
  std::ofstream(receipt) << r.dump();
  ASSERT_EQ(run("verify --model " + kModel + " --receipt " + receipt + " --json", &out), 1) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["code"], "verify.output_mismatch");

  EXPECT_EQ(run("verify --model " + kModel + " --receipt " + kModel), 2);  // not JSON
  EXPECT_EQ(run("generate --model " + receipt + " --prompt x"), 2);           // not GGUF
  EXPECT_EQ(run("generate --model " + kModel + " --prompt x --backend tpu"), 2);
  EXPECT_EQ(run("generate --model " + kModel + " --prompt-ids 1,99999"), 2);
  EXPECT_NE(run("generate --model " + kModel + " --prompt x --top-p 2"), 0);
  fs::remove_all(dir);
}

}  // namespace
