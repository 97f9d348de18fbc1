// The wallet directory: create, import, list, find by name or address, duplicates, modes.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "wallet/wallet_dir.hpp"

namespace ig::wallet {
namespace {

using testing::kFastKdf;
using testing::ScratchDir;

TEST(WalletDir, OpenCreatesPrivateDirectoriesIncludingParents) {
  ScratchDir root;
  const std::string dir = root.file("a/b/wallet");
  auto w = Wallet::open(dir);
  ASSERT_TRUE(w) << w.error().to_string();
  for (const std::string& d : {root.file("a"), root.file("a/b"), dir}) {
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
  testing::write_text(root.file("plain"), "x");
  auto bad = Wallet::open(root.file("plain"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "file.not_a_directory");
}

TEST(WalletDir, CreateListFindAndUnlock) {
  ScratchDir root;
  auto w = *Wallet::open(root.path());
  auto bob = w.create("bob", "pw-b", kFastKdf);
  auto alice = w.create("alice", "pw-a", kFastKdf);
  ASSERT_TRUE(bob && alice);
  EXPECT_EQ(alice->path, root.file("alice.json"));

  auto all = w.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");  // sorted by name
  EXPECT_EQ(all[1].name, "bob");
  EXPECT_EQ(all[0].address, alice->address);

  auto by_name = w.find("bob");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->address, bob->address);
  auto by_addr = w.find(chain::address_to_string(alice->address));
  ASSERT_TRUE(by_addr);
  EXPECT_EQ(by_addr->name, "alice");

  auto key = w.unlock(*by_addr, "pw-a");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->public_key(), alice->address);
  auto wrong = w.unlock(*by_addr, "pw-b");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, "keystore.decrypt_failed");
}

TEST(WalletDir, UnknownNamesAndAddressesAreNotFound) {
  ScratchDir root;
  auto w = *Wallet::open(root.path());
  ASSERT_TRUE(w.create("alice", "pw", kFastKdf));
  for (const std::string& q : {std::string("carol"), chain::address_to_string(chain::SecretKey::generate().public_key()),
                               std::string("../alice"), std::string("")}) {
    auto r = w.find(q);
    ASSERT_FALSE(r) << q;
    EXPECT_EQ(r.error().code, "wallet.not_found");
  }
}

TEST(WalletDir, DuplicateNamesAndKeysAreRefused) {
  ScratchDir root;
  auto w = *Wallet::open(root.path());
  const auto key = chain::SecretKey::generate();
  ASSERT_TRUE(w.import("alice", key, "pw", kFastKdf));
  auto same_name = w.create("alice", "pw", kFastKdf);
  ASSERT_FALSE(same_name);
  EXPECT_EQ(same_name.error().code, "wallet.exists");
  auto same_key = w.import("alice2", key, "pw", kFastKdf);
  ASSERT_FALSE(same_key);
  EXPECT_EQ(same_key.error().code, "wallet.exists");
  EXPECT_NE(same_key.error().message.find("alice"), std::string::npos);
  auto bad_name = w.create("no/slash", "pw", kFastKdf);
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().code, "keystore.bad_name");
  EXPECT_EQ(w.list().size(), 1u);
}

TEST(WalletDir, ForeignAndRenamedFilesAreSkippedAndReported) {
  ScratchDir root;
  auto w = *Wallet::open(root.path());
  ASSERT_TRUE(w.create("alice", "pw", kFastKdf));
  testing::write_text(root.file("notes.json"), "{\"hello\":1}");
  testing::write_text(root.file("readme.txt"), "not a keystore");
  std::filesystem::copy_file(root.file("alice.json"), root.file("mallory.json"));
  std::vector<std::string> skipped;
  auto all = w.list(&skipped);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_EQ(skipped.size(), 2u);  // notes.json and mallory.json; readme.txt is not a .json file
  auto r = w.find("mallory");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "keystore.malformed");
}

TEST(WalletDir, DefaultDirectoryHonoursTheEnvironment) {
  const char* saved = std::getenv("INFERGRID_WALLET_DIR");
  const std::string saved_value = saved ? saved : "";
  ::setenv("INFERGRID_WALLET_DIR", "/tmp/somewhere", 1);
  EXPECT_EQ(default_wallet_dir(), "/tmp/somewhere");
  ::unsetenv("INFERGRID_WALLET_DIR");
  const char* home = std::getenv("HOME");
  if (home) {
    EXPECT_EQ(default_wallet_dir(), std::string(home) + "/.infergrid/wallet");
  }
  if (saved) ::setenv("INFERGRID_WALLET_DIR", saved_value.c_str(), 1);
}

}  // namespace
}  // namespace ig::wallet
