// Network: configuration checks and the public methods, over detail::Core.
#include "p2p/network.hpp"

#include <boost/asio/ip/address.hpp>

#include "p2p/detail/conn.hpp"
#include "p2p/detail/core.hpp"
#include "p2p/frame.hpp"

namespace ig::p2p {
namespace {

using namespace std::chrono_literals;

ig::Status check_config(const NetworkConfig& c, const NodeId& self) {
  auto bad = [](std::string msg) { return ig::fail("p2p.config", std::move(msg)); };
  if (!c.listen.empty()) {
    auto hp = parse_host_port(c.listen);
    if (!hp) return bad("listen: " + hp.error().message);
    boost::system::error_code ec;
    boost::asio::ip::make_address(hp->host == "localhost" ? "127.0.0.1" : hp->host, ec);
    if (ec) return bad("listen host must be an IP address, got '" + hp->host + "'");
  }
  if (c.network.empty() || c.network.size() > kMaxNetworkNameBytes) return bad("network must be 1..64 bytes");
  if (c.channels.empty()) return bad("at least one channel is needed");
  std::set<uint8_t> ids;
  for (const auto& ch : c.channels) {
    std::string name = "channel " + std::to_string(ch.id);
    if (ch.id == kControlChannel) return bad("channel 0 is the control channel");
    if (!ids.insert(ch.id).second) return bad(name + " is listed twice");
    if (ch.priority < 1 || ch.priority > 100) return bad(name + ": priority must be in 1..100");
    if (ch.max_message_bytes == 0 || ch.max_message_bytes > kMaxFramePayload)
      return bad(name + ": max_message_bytes must be in 1.." + std::to_string(kMaxFramePayload));
    if (ch.max_queue_bytes < ch.max_message_bytes) return bad(name + ": max_queue_bytes must be at least max_message_bytes");
    if (ch.max_queue_messages == 0) return bad(name + ": max_queue_messages must be positive");
    if (ch.dedup_entries > 10'000'000) return bad(name + ": dedup_entries must be at most 10,000,000");
  }
  if (c.threads == 0 || c.threads > 64) return bad("threads must be in 1..64");
  if (c.max_pending == 0 || c.max_pending_per_ip == 0) return bad("max_pending and max_pending_per_ip must be positive");
  if (c.recv_rate_bytes_per_s > 0 && c.recv_burst_bytes == 0) return bad("recv_burst_bytes must be positive");
  for (auto t : {c.dial_timeout, c.handshake_timeout, c.ping_interval, c.pong_timeout, c.write_timeout,
                 c.redial_initial, c.redial_max})
    if (t < 10ms) return bad("timeouts and redial delays must be at least 10 ms");
  if (c.redial_max < c.redial_initial) return bad("redial_max must be at least redial_initial");
  if (c.ban_threshold < 1) return bad("ban_threshold must be positive");
  if (c.penalty_bad_frame < 0 || c.penalty_protocol < 0) return bad("penalties must not be negative");
  if (c.score_recovery_per_minute < 0) return bad("score_recovery_per_minute must not be negative");
  if (c.ban_duration < 0ms) return bad("ban_duration must not be negative");
  std::set<NodeId> persistent;
  for (const auto& p : c.persistent) {
    if (p.id == self) return bad("persistent peer " + p.to_string() + " is this node itself");
    if (!persistent.insert(p.id).second) return bad("persistent peer " + p.id.to_string() + " is listed twice");
    if (p.host.empty() || p.port == 0) return bad("persistent peer " + p.to_string() + " needs a host and a port");
  }
  return {};
}

}  // namespace

std::vector<ChannelSpec> default_channels(size_t max_block_bytes, size_t max_tx_bytes) {
  // A block travels whole in one message (a proposal, a block-sync reply), with its commit and
  // envelope: 1 MiB of slack covers the signatures of thousands of validators.
  const size_t block_message = std::min<size_t>(max_block_bytes + (1u << 20), kMaxFramePayload);
  const size_t tx_message = std::min<size_t>(max_tx_bytes + 1024, kMaxFramePayload);
  ChannelSpec consensus{kChannelConsensus, 10, block_message, 4 * block_message, 4096, false, 0};
  ChannelSpec mempool{kChannelMempool, 5, tx_message, std::max<size_t>(16u << 20, 4 * tx_message), 10000, true, 20000};
  ChannelSpec blocksync{kChannelBlockSync, 3, block_message, 4 * block_message, 1024, false, 0};
  return {consensus, mempool, blocksync};
}

Network::Network(std::unique_ptr<detail::Core> core) : core_(std::move(core)) {}

Network::~Network() { stop(); }

ig::Expected<std::unique_ptr<Network>> Network::create(NetworkConfig config, NodeKey key) {
  IG_TRY(check_config(config, key.id()));
  IG_TRY_ASSIGN(tls, detail::make_tls_context(key));
  auto core = std::make_unique<detail::Core>(std::move(config), std::move(key), std::move(tls));
  return std::unique_ptr<Network>(new Network(std::move(core)));
}

const NodeId& Network::id() const { return core_->self(); }

void Network::set_allowed(std::set<NodeId> ids) { core_->set_allowed(std::move(ids)); }

void Network::set_persistent(std::vector<PeerAddress> peers) { core_->set_persistent(std::move(peers)); }

void Network::on_message(MessageHandler handler) { core_->message_handler = std::move(handler); }

void Network::on_peer(PeerHandler handler) { core_->peer_handler = std::move(handler); }

ig::Status Network::start() { return core_->start(); }

void Network::stop() { core_->stop(); }

bool Network::send(const NodeId& peer, uint8_t channel, std::vector<uint8_t> payload) {
  if (channel == kControlChannel) return false;
  auto conn = core_->peer(peer);
  if (!conn) return false;
  core_->mark_seen(channel, payload);
  auto shared = std::make_shared<const std::vector<uint8_t>>(std::move(payload));
  return conn->send(channel, std::move(shared)) == detail::Conn::SendResult::queued;
}

size_t Network::broadcast(uint8_t channel, std::vector<uint8_t> payload, std::optional<NodeId> except) {
  if (channel == kControlChannel || payload.size() > core_->limits()[channel]) return 0;
  core_->mark_seen(channel, payload);
  auto shared = std::make_shared<const std::vector<uint8_t>>(std::move(payload));
  size_t queued = 0;
  for (auto& conn : core_->connected()) {
    if (except && conn->peer_id() == *except) continue;
    if (conn->send(channel, shared) == detail::Conn::SendResult::queued) ++queued;
  }
  return queued;
}

void Network::report(const NodeId& peer, int penalty, std::string why) {
  core_->penalize(peer, penalty, "reported by the application: " + why);
}

bool Network::banned(const NodeId& peer) const { return core_->banned(peer); }

int Network::score(const NodeId& peer) const { return core_->score(peer); }

std::vector<PeerInfo> Network::peers() const {
  std::vector<PeerInfo> out;
  for (auto& conn : core_->connected()) out.push_back(conn->info(core_->score(conn->peer_id())));
  return out;
}

NetworkStats Network::stats() const {
  auto& c = core_->counters();
  NetworkStats s;
  s.dials = c.dials;
  s.dial_failures = c.dial_failures;
  s.accepted = c.accepted;
  s.refused = c.refused;
  s.handshake_failures = c.handshake_failures;
  s.duplicates_suppressed = c.duplicates_suppressed;
  s.dropped_slow = c.dropped_slow;
  s.bad_frames = c.bad_frames;
  s.bans = c.bans;
  return s;
}

uint16_t Network::listen_port() const { return core_->listen_port(); }

}  // namespace ig::p2p
