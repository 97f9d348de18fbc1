// The wire format above TLS, with no I/O: frames and the control messages of channel 0.
//
//   frame   = channel (u8) | length (u32, big-endian) | payload (length bytes)
//
// Every channel has a maximum payload length; a frame for an unknown channel, or longer than its
// channel's maximum, is an error detected from its 5-byte header alone, before any payload is
// buffered, so a peer cannot make us hold more than the cap. Channel 0 is the control channel
// (hello, ping, pong); the application's channels are 1..255.
//
//   hello = 0x01 | version (u16) | network length (u8, 1..64) | network (bytes)
//   ping  = 0x02 | nonce (u64)
//   pong  = 0x03 | nonce (u64)
//
// The decoder is the piece of the node that reads the most hostile input, so it is small,
// allocation-bounded and fuzzed (tests/p2p/fuzz_frame.cpp, tests/p2p/test_fuzz.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/expected.hpp"

namespace ig::p2p {

constexpr size_t kFrameHeaderBytes = 5;
constexpr uint8_t kControlChannel = 0;
constexpr uint32_t kMaxControlPayload = 128;
constexpr uint16_t kProtocolVersion = 1;
constexpr size_t kMaxNetworkNameBytes = 64;
// The largest payload any channel may allow (NetworkConfig checks against it): large enough for a
// block of the chain's largest allowed size (32 MiB, docs/genesis.md) with its commit.
constexpr uint32_t kMaxFramePayload = 64u << 20;

// Maximum payload length per channel; 0 means the channel is not accepted.
using ChannelLimits = std::array<uint32_t, 256>;

struct Frame {
  uint8_t channel = 0;
  std::vector<uint8_t> payload;
};

std::array<uint8_t, kFrameHeaderBytes> encode_frame_header(uint8_t channel, uint32_t length);
std::vector<uint8_t> encode_frame(uint8_t channel, std::span<const uint8_t> payload);

enum class DecodeError : uint8_t { none, unknown_channel, oversized };

// Incremental: feed it whatever the socket returned, in any split.
class FrameDecoder {
 public:
  explicit FrameDecoder(const ChannelLimits& limits) : limits_(limits) {}

  // Appends each completed frame to `out`. After an error the decoder is dead: the error is
  // returned again for any further input, and error_text() describes it.
  DecodeError feed(std::span<const uint8_t> in, std::vector<Frame>& out);

  DecodeError error() const { return error_; }
  std::string error_text() const;
  // Bytes of a partial frame held now (header and payload so far): what a peer makes us hold.
  size_t buffered_bytes() const { return header_len_ + payload_.size(); }

 private:
  ChannelLimits limits_;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  size_t header_len_ = 0;
  bool in_payload_ = false;
  uint8_t channel_ = 0;
  uint32_t length_ = 0;
  std::vector<uint8_t> payload_;
  DecodeError error_ = DecodeError::none;
};

struct Hello {
  uint16_t version = kProtocolVersion;
  std::string network;  // chain id or another name all peers of one network share
  bool operator==(const Hello&) const = default;
};
struct Ping {
  uint64_t nonce = 0;
  bool operator==(const Ping&) const = default;
};
struct Pong {
  uint64_t nonce = 0;
  bool operator==(const Pong&) const = default;
};
using ControlMessage = std::variant<Hello, Ping, Pong>;

std::vector<uint8_t> encode_control(const ControlMessage& m);
// "p2p.bad_control": unknown type, wrong length, empty or overlong network name.
ig::Expected<ControlMessage> decode_control(std::span<const uint8_t> payload);

}  // namespace ig::p2p
