// Subscriptions on real sockets: notify, filter, unsubscribe, limits, and a
// slow subscriber that gets dropped while a healthy one keeps receiving.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"

using namespace rpc_test;
using namespace ig::rpc;

namespace {

class RpcSubscriptions : public ServerFixture {};

}  // namespace

TEST_F(RpcSubscriptions, SubscribeNotifyUnsubscribe) {
  auto c = connect();
  auto id = c.subscribe("newHeads");
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(id->size(), 34u);  // "0x" + 32 hex digits
  EXPECT_EQ(id->substr(0, 2), "0x");
  ASSERT_TRUE(eventually([&] { return server_->stats().subscriptions == 1; }));
  EXPECT_TRUE(server_->has_subscribers("newHeads"));
  EXPECT_FALSE(server_->has_subscribers("events"));

  for (int h = 1; h <= 3; ++h) EXPECT_EQ(server_->publish("newHeads", {{"height", h}}), 1u);
  for (int h = 1; h <= 3; ++h) {
    auto n = c.next_notification(5s);
    ASSERT_TRUE(n) << n.error().to_string();
    EXPECT_EQ((*n)["subscription"], *id);
    EXPECT_EQ((*n)["topic"], "newHeads");
    EXPECT_EQ((*n)["result"]["height"], h);  // in publish order
  }
  auto none = c.next_notification(100ms);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, "rpc.timeout");

  auto gone = c.unsubscribe(*id);
  ASSERT_TRUE(gone);
  EXPECT_TRUE(*gone);
  auto again = c.unsubscribe(*id);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(server_->publish("newHeads", {{"height", 4}}), 0u);
  EXPECT_EQ(server_->stats().subscriptions, 0u);
  EXPECT_FALSE(server_->has_subscribers("newHeads"));
}

TEST_F(RpcSubscriptions, NotificationWireFormat) {
  auto c = connect();
  auto id = c.subscribe("events");
  ASSERT_TRUE(id);
  server_->publish("events", {{"type", "Transfer"}});
  // call_raw returns the next non-notification message, so read the raw
  // notification through the queue and check every field the docs promise.
  auto n = c.next_notification(5s);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, json({{"subscription", *id}, {"result", {{"type", "Transfer"}}}, {"topic", "events"}}));
}

TEST_F(RpcSubscriptions, NotificationsArrivingDuringCallsAreKept) {
  auto c = connect();
  ASSERT_TRUE(c.subscribe("newHeads"));
  server_->publish("newHeads", {{"height", 1}});
  server_->publish("newHeads", {{"height", 2}});
  // the call's reply may come after the notifications on the wire
  ASSERT_TRUE(c.call("echo", json::array()));
  for (int h = 1; h <= 2; ++h) {
    auto n = c.next_notification(5s);
    ASSERT_TRUE(n);
    EXPECT_EQ((*n)["result"]["height"], h);
  }
}

TEST_F(RpcSubscriptions, FiltersSelectEvents) {
  auto transfers = connect();
  auto alice = connect();
  auto all = connect();
  ASSERT_TRUE(transfers.subscribe("events", {{"type", "Transfer"}}));
  ASSERT_TRUE(alice.subscribe("events", {{"accounts", "ig1alice"}}));
  ASSERT_TRUE(all.subscribe("events"));

  json e1 = {{"type", "Transfer"}, {"accounts", {"ig1bob", "ig1carol"}}};
  json e2 = {{"type", "Stake"}, {"accounts", {"ig1alice"}}};
  json e3 = {{"type", "Transfer"}, {"accounts", {"ig1alice", "ig1bob"}}};
  EXPECT_EQ(server_->publish("events", e1), 2u);
  EXPECT_EQ(server_->publish("events", e2), 2u);
  EXPECT_EQ(server_->publish("events", e3), 3u);
  EXPECT_EQ(server_->publish("newHeads", e3), 0u);  // other topic

  auto expect_results = [](Client& c, std::vector<json> want) {
    for (const auto& w : want) {
      auto n = c.next_notification(5s);
      ASSERT_TRUE(n) << n.error().to_string();
      EXPECT_EQ((*n)["result"], w);
    }
    EXPECT_FALSE(c.next_notification(100ms));
  };
  expect_results(transfers, {e1, e3});
  expect_results(alice, {e2, e3});
  expect_results(all, {e1, e2, e3});
}

TEST_F(RpcSubscriptions, BadFiltersAndTopicsAreInvalidParams) {
  auto c = connect();
  auto r = c.subscribe("events", json::array({1}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rpc.-32602");
  r = c.subscribe("blocks");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rpc.-32602");
  EXPECT_NE(r.error().message.find("newHeads"), std::string::npos);  // lists the topics
}

TEST_F(RpcSubscriptions, PerConnectionLimit) {
  auto c = connect();
  for (size_t i = 0; i < config_.max_subscriptions_per_conn; ++i) ASSERT_TRUE(c.subscribe("newHeads"));
  auto over = c.subscribe("newHeads");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, "rpc.-32005");
  EXPECT_NE(over.error().message.find("4 per connection"), std::string::npos);
  // the limit is per connection
  auto other = connect();
  EXPECT_TRUE(other.subscribe("newHeads"));
  EXPECT_EQ(server_->publish("newHeads", json{{"height", 1}}), config_.max_subscriptions_per_conn + 1);
}

TEST_F(RpcSubscriptions, CannotCancelAnotherConnectionsSubscription) {
  auto a = connect();
  auto b = connect();
  auto id = a.subscribe("newHeads");
  ASSERT_TRUE(id);
  auto r = b.unsubscribe(*id);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_EQ(server_->publish("newHeads", json{{"height", 1}}), 1u);
  EXPECT_TRUE(a.next_notification(5s));
}

TEST_F(RpcSubscriptions, ClosingConnectionRemovesItsSubscriptions) {
  {
    auto c = connect();
    ASSERT_TRUE(c.subscribe("newHeads"));
    ASSERT_TRUE(c.subscribe("events"));
    EXPECT_EQ(server_->stats().subscriptions, 2u);
  }
  EXPECT_TRUE(eventually([&] { return server_->stats().subscriptions == 0; }));
  EXPECT_EQ(server_->publish("newHeads", json{{"height", 1}}), 0u);
}

TEST_F(RpcSubscriptions, PublishFromManyThreads) {
  auto c = connect();
  ASSERT_TRUE(c.subscribe("events"));
  constexpr int kThreads = 4, kEach = 10;  // 40 < max_queued_notifications
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) server_->publish("events", {{"t", t}, {"i", i}});
    });
  for (auto& th : threads) th.join();
  std::vector<int> next(kThreads, 0);
  for (int k = 0; k < kThreads * kEach; ++k) {
    auto n = c.next_notification(5s);
    ASSERT_TRUE(n) << n.error().to_string();
    int t = (*n)["result"]["t"], i = (*n)["result"]["i"];
    EXPECT_EQ(i, next[t]++);  // each publisher's order is kept
  }
}

// A subscriber that never reads fills its socket buffers, then its outbound
// queue; it is dropped, while a subscriber that reads keeps up and receives
// everything, and publish() is never held up by the stalled one.
TEST_F(RpcSubscriptions, SlowSubscriberIsDroppedHealthyOneIsNot) {
  server_.reset();
  auto cfg = small_config();
  cfg.max_queued_notifications = 16;
  start(cfg);

  auto slow = connect();
  ASSERT_TRUE(slow.subscribe("newHeads"));  // and never reads again
  auto healthy = connect();
  ASSERT_TRUE(healthy.subscribe("newHeads"));

  const std::string payload(32 * 1024, 'p');
  int published = 0, received = 0;
  bool healthy_ok = true;
  // Publish in rounds the healthy client confirms, so only the stalled one lags.
  // 256 MiB of notifications is far more than any socket buffer can hide.
  const int kMaxRounds = 1024;
  for (int round = 0; round < kMaxRounds && server_->stats().dropped_subscribers == 0; ++round) {
    for (int i = 0; i < 8; ++i) server_->publish("newHeads", {{"n", published++}, {"pad", payload}});
    while (received < published) {
      auto n = healthy.next_notification(10s);
      if (!n || (*n)["result"]["n"] != received) {
        healthy_ok = false;
        break;
      }
      ++received;
    }
    if (!healthy_ok) break;
  }
  ASSERT_TRUE(healthy_ok) << "healthy subscriber lost notification " << received;
  EXPECT_EQ(server_->stats().dropped_subscribers, 1u);
  EXPECT_EQ(server_->stats().subscriptions, 1u);  // only the healthy one remains

  // After the drop the healthy subscriber still gets everything.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(server_->publish("newHeads", {{"n", published++}}), 1u);
  while (received < published) {
    auto n = healthy.next_notification(10s);
    ASSERT_TRUE(n) << n.error().to_string();
    EXPECT_EQ((*n)["result"]["n"], received++);
  }
  // The stalled client finds its connection closed once it reads what got through.
  ig::Expected<json> n = slow.next_notification(5s);
  int buffered = 0;
  while (n) {
    ++buffered;
    n = slow.next_notification(5s);
  }
  EXPECT_EQ(n.error().code, "rpc.transport");
  EXPECT_LT(buffered, published);
  EXPECT_TRUE(eventually([&] { return server_->connection_count() == 1; }));
}

// A connection closed by the server after an oversized message has no read pending, so its
// subscriptions stay registered until its destructor removes them (under the registry's lock).
// publish() holds a reference to each subscriber it pushes to; when that is the last one (the
// connection's own handlers finished meanwhile), the destructor must not run inside publish()
// while it holds the registry's lock: it would lock it again, and the publishing thread (the
// node's block commit) and every later subscribe would wait for ever.
TEST_F(RpcSubscriptions, ConnectionEndingDuringAPublishDoesNotDeadlockIt) {
  server_.reset();
  auto cfg = small_config();
  cfg.max_message_bytes = 1024;
  cfg.max_queued_bytes = 1024;
  start(cfg);

  std::atomic<bool> on{false}, done{false};
  std::thread publisher([&] {
    while (!done) {
      if (on) server_->publish("newHeads", json{{"height", 1}});
      else std::this_thread::yield();
    }
  });
  auto rounds = std::async(std::launch::async, [&] {
    const std::string oversized(2 * cfg.max_message_bytes, 'x');
    for (int round = 0; round < 40; ++round) {
      on = false;
      auto c = connect();
      for (size_t i = 0; i < cfg.max_subscriptions_per_conn; ++i)
        if (!c.subscribe("newHeads")) return std::string("subscribe failed");
      auto r = c.call_raw(oversized);  // the error reply: the server is closing this connection
      if (!r || !r->contains("error")) return std::string("no error reply for the oversized message");
      on = true;  // publishing now finds the subscriptions, and pushes nothing (closing)
      (void)c.call("echo", json::array());  // answers the close frame: the server's side ends
      if (!eventually([&] { return server_->stats().subscriptions == 0; }))
        return std::string("subscriptions never removed");
    }
    return std::string();
  });
  if (rounds.wait_for(60s) != std::future_status::ready) {
    std::fprintf(stderr, "publish() deadlocked on a subscriber that ended during it\n");
    std::_Exit(1);
  }
  done = true;
  publisher.join();
  EXPECT_EQ(rounds.get(), "");
}
