// The wallet directory: create, import, list, find by name or address, duplicates, modes.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/dir_lock.hpp"
#include "fixtures.hpp"
#include "wallet/secure_file.hpp"
#include "wallet/wallet_dir.hpp"
#include "wallet/weights_file.hpp"

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

// Fault 3 of issue 7 (wallet part): two writers on one wallet directory.

TEST(WalletDirLock, ConcurrentCreatesOfOneNameLeaveOneIntactKeystore) {
  ScratchDir root;
  auto w = *Wallet::open(root.path());
  constexpr int kWriters = 8;
  std::vector<chain::SecretKey> keys;
  for (int i = 0; i < kWriters; ++i) keys.push_back(chain::SecretKey::generate());
  std::vector<std::optional<Error>> errors(kWriters);
  std::vector<bool> won(kWriters, false);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      auto r = w.import("carol", keys[i], "pw-" + std::to_string(i), kFastKdf);
      if (r) won[i] = true;
      else errors[i] = r.error();
    });
  go = true;
  for (auto& t : threads) t.join();
  int winner = -1;
  for (int i = 0; i < kWriters; ++i) {
    if (won[i]) {
      EXPECT_EQ(winner, -1) << "two writers both created carol";
      winner = i;
    } else {
      ASSERT_TRUE(errors[i]);
      EXPECT_EQ(errors[i]->code, "wallet.exists") << errors[i]->message;
    }
  }
  ASSERT_NE(winner, -1);
  // The file on disk is the winner's, whole: it opens with the winner's password to its key.
  auto key = read_keystore(root.file("carol.json"), "pw-" + std::to_string(winner));
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(key->bytes(), keys[winner].bytes());
  std::vector<std::string> skipped;
  EXPECT_EQ(w.list(&skipped).size(), 1u);
  EXPECT_TRUE(skipped.empty());
}

TEST(WalletDirLock, OneKeyImportedConcurrentlyUnderManyNamesIsStoredOnce) {
  // The duplicate-key check and the write are one step under the lock; without it several
  // writers pass the check before any has written.
  ScratchDir root;
  auto w = *Wallet::open(root.path());
  const auto key = chain::SecretKey::generate();
  constexpr int kWriters = 8;
  std::atomic<int> created{0}, duplicates{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      auto r = w.import("k" + std::to_string(i), key, "pw", kFastKdf);
      if (r) ++created;
      else if (r.error().code == "wallet.exists") ++duplicates;
    });
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(duplicates.load(), kWriters - 1);
  EXPECT_EQ(w.list().size(), 1u);
}

TEST(WalletDirLock, AHeldLockIsReportedWithItsHolderAndNothingIsWritten) {
  ScratchDir root;
  auto w = *Wallet::open(root.path());
  auto held = DirLock::acquire(root.path(), "test-holder");
  ASSERT_TRUE(held) << held.error().to_string();
  const auto start = std::chrono::steady_clock::now();
  auto r = w.create("carol", "pw", kFastKdf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "lock.held");
  EXPECT_NE(r.error().message.find("pid " + std::to_string(::getpid()) + " (test-holder)"), std::string::npos)
      << r.error().message;
  EXPECT_GE(std::chrono::steady_clock::now() - start, kWalletLockWait);  // it waited for the holder first
  EXPECT_FALSE(std::filesystem::exists(root.file("carol.json")));

  WeightsSecret s{chain::SecretKey::generate().public_key(), 4, {{1, 2}}, chain::Hash{}};
  auto saved = save_weights_secret(root.path(), s);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, "lock.held");
  EXPECT_FALSE(std::filesystem::exists(weights_secret_path(root.path(), s.validator, s.epoch)));

  held->release();
  EXPECT_TRUE(w.create("carol", "pw", kFastKdf));
  EXPECT_TRUE(save_weights_secret(root.path(), s));
  EXPECT_TRUE(remove_weights_secret(root.path(), s.validator, s.epoch));
  EXPECT_FALSE(std::filesystem::exists(weights_secret_path(root.path(), s.validator, s.epoch)));
}

TEST(WalletDirLock, TheLockFileIsNotReportedAsASkippedKeystore) {
  ScratchDir root;
  auto w = *Wallet::open(root.path());
  ASSERT_TRUE(w.create("alice", "pw", kFastKdf));
  ASSERT_TRUE(std::filesystem::exists(DirLock::lock_path(root.path())));  // left behind by the write
  std::vector<std::string> skipped;
  auto all = w.list(&skipped);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(skipped.empty()) << skipped.front();
  // A key may even be called LOCK: its file is LOCK.json.
  ASSERT_TRUE(w.create("LOCK", "pw", kFastKdf));
  EXPECT_EQ(w.list(&skipped).size(), 2u);
  EXPECT_TRUE(skipped.empty());
  EXPECT_TRUE(w.find("LOCK"));
}

TEST(WalletDirLock, NoOverwriteWritesRaceToExactlyOneWinnerWithoutTheLock) {
  // write_file_atomic on its own (no DirLock): the kernel decides the race.
  ScratchDir root;
  const std::string path = root.file("k.json");
  constexpr int kWriters = 16;
  std::atomic<int> ok{0}, exists{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      auto r = write_file_atomic(path, "writer " + std::to_string(i) + "\n", /*overwrite=*/false);
      if (r) ++ok;
      else if (r.error().code == "file.exists") ++exists;
    });
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), kWriters - 1);
  const std::string text = testing::read_text(path);
  EXPECT_EQ(text.rfind("writer ", 0), 0u) << text;
  // No temporary files are left behind by the losers.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root.path()), std::filesystem::directory_iterator()), 1);
}

}  // namespace
}  // namespace ig::wallet
