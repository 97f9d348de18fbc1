// Bad input from outside gets the right JSON-RPC error, and the node keeps serving.
#include <gtest/gtest.h>

#include "chain/hash.hpp"
#include "rpc/types.hpp"
#include "tests/integration/harness.hpp"
#include "wallet/transfer.hpp"

namespace ig::itest {
namespace {

using json = rpc::json;
using namespace std::chrono_literals;

class RpcErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    home_ = new std::string(make_temp_dir("rpcerr"));
    node_ = new NodeProcess(*home_);
    node_->init(200);
    node_->start();
  }
  static void TearDownTestSuite() {
    delete node_;
    remove_dir(*home_);
    delete home_;
  }

  // A well-formed transfer from the dev account; tests then break one thing about it.
  wallet::TransferSpec valid_spec(rpc::Client& c) {
    auto info = c.call("node_info", json::array());
    auto acct = c.call("state_getAccount", json::array({chain::address_to_string(node_->dev_key().public_key())}));
    EXPECT_TRUE(info && acct);
    wallet::TransferSpec spec{(*info)["chain_id"], chain::SecretKey::generate().public_key(), 5, 0, (*acct)["next_nonce"], 0, ""};
    spec.fee = wallet::minimum_fee(chain::FeeSchedule{}, spec, node_->dev_key().public_key());
    return spec;
  }

  static json rejected_reason(const Expected<json>& reply) {
    EXPECT_TRUE(reply);
    if (!reply) return json();
    EXPECT_TRUE(reply->contains("error")) << reply->dump();
    return *reply;
  }

  static std::string* home_;
  static NodeProcess* node_;
};
std::string* RpcErrors::home_ = nullptr;
NodeProcess* RpcErrors::node_ = nullptr;

std::string send_raw_tx(const std::string& hex) {
  return json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tx_send"}, {"params", {hex}}}.dump();
}

TEST_F(RpcErrors, MalformedJsonUnknownMethodsAndBadParams) {
  auto c = node_->client();
  auto parse = c.call_raw("{\"jsonrpc\": \"2.0\", \"method\": ");
  ASSERT_TRUE(parse);
  EXPECT_EQ((*parse)["error"]["code"], rpc::kParseError);
  EXPECT_TRUE((*parse)["id"].is_null());

  auto unknown = c.call("chain_noSuchMethod", json::array());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "rpc." + std::to_string(rpc::kMethodNotFound));

  auto bad_hash = c.call("tx_receipt", json::array({"xyz"}));
  ASSERT_FALSE(bad_hash);
  EXPECT_EQ(bad_hash.error().code, "rpc." + std::to_string(rpc::kInvalidParams));
  auto bad_addr = c.call("state_getAccount", json::array({"ig1notanaddress"}));
  ASSERT_FALSE(bad_addr);
  EXPECT_EQ(bad_addr.error().code, "rpc." + std::to_string(rpc::kInvalidParams));
  auto no_block = c.call("chain_getBlock", json::array({1'000'000}));
  ASSERT_FALSE(no_block);
  EXPECT_EQ(no_block.error().code, "rpc." + std::to_string(rpc::kNotFound));
  auto unknown_tx = c.call("tx_receipt", json::array({std::string(64, 'a')}));
  ASSERT_TRUE(unknown_tx);
  EXPECT_TRUE(unknown_tx->is_null());

  auto still = c.call("chain_head", json::array());
  EXPECT_TRUE(still) << "node stopped serving after bad requests";
}

TEST_F(RpcErrors, BadTransactionsAreRejectedWithTheirReason) {
  auto c = node_->client();
  const chain::SecretKey dev = node_->dev_key();
  auto expect_rejected = [&](const std::string& hex, const std::string& reason) {
    auto reply = c.call_raw(send_raw_tx(hex));
    json r = rejected_reason(reply);
    EXPECT_EQ(r["error"]["code"], rpc::kTxRejected) << r.dump();
    EXPECT_EQ(r["error"]["data"]["reason"], reason) << r.dump();
  };

  wallet::TransferSpec spec = valid_spec(c);
  chain::Transaction good = *wallet::sign_transfer(spec, dev);
  chain::Bytes raw = chain::encode_tx(good);

  chain::Bytes truncated(raw.begin(), raw.end() - 10);
  expect_rejected(chain::to_hex(truncated), "codec.truncated");
  chain::Bytes trailing = raw;
  trailing.push_back(0);
  expect_rejected(chain::to_hex(trailing), "codec.trailing_bytes");

  chain::Transaction bad_sig = good;
  bad_sig.signature[5] ^= 1;
  expect_rejected(chain::to_hex(chain::encode_tx(bad_sig)), "tx.bad_signature");

  wallet::TransferSpec wrong_chain = spec;
  wrong_chain.chain_id = "some-other-chain";
  expect_rejected(chain::to_hex(chain::encode_tx(*wallet::sign_transfer(wrong_chain, dev))), "tx.wrong_chain");

  wallet::TransferSpec future_nonce = spec;
  future_nonce.nonce += 5;
  expect_rejected(chain::to_hex(chain::encode_tx(*wallet::sign_transfer(future_nonce, dev))), "tx.bad_nonce");

  wallet::TransferSpec cheap = spec;
  cheap.fee = 1;
  expect_rejected(chain::to_hex(chain::encode_tx(*wallet::sign_transfer(cheap, dev))), "tx.fee_too_low");

  wallet::TransferSpec expired = spec;
  expired.expiry_height = 1;
  node_->wait_for_height(3);
  expect_rejected(chain::to_hex(chain::encode_tx(*wallet::sign_transfer(expired, dev))), "tx.expired");

  auto not_hex = c.call("tx_send", json::array({"zz"}));
  ASSERT_FALSE(not_hex);
  EXPECT_EQ(not_hex.error().code, "rpc." + std::to_string(rpc::kInvalidParams));

  // The valid one still goes through, once, after all of that.
  auto sent = c.call("tx_send", json::array({chain::to_hex(raw)}));
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(*sent, chain::to_hex(chain::tx_hash(good)));
  expect_rejected(chain::to_hex(raw), "mempool.duplicate");
}

TEST_F(RpcErrors, OversizedMessagesAreRefusedAndTheNodeKeepsServing) {
  std::string huge = send_raw_tx(std::string(5u << 20, 'a'));  // over the 4 MiB default limit
  {
    auto c = node_->client();
    auto reply = c.call_raw(huge);
    // The WebSocket is closed with 1009 (message too big); the client sees a transport error.
    EXPECT_FALSE(reply && !reply->contains("error"));
  }
  auto http = rpc::http_post(node_->http_url(), huge, 10s);
  ASSERT_TRUE(http) << http.error().to_string();
  EXPECT_EQ((*http)["error"]["code"], rpc::kLimitExceeded) << http->dump();

  auto c = node_->client();
  EXPECT_TRUE(c.call("chain_head", json::array()));
  auto over_http = rpc::http_post(node_->http_url(), R"({"jsonrpc":"2.0","id":1,"method":"chain_head"})", 5s);
  ASSERT_TRUE(over_http);
  EXPECT_TRUE((*over_http)["result"]["height"].is_number());
}

}  // namespace
}  // namespace ig::itest
