#include "p2p/frame.hpp"

#include <algorithm>
#include <cstring>

namespace ig::p2p {
namespace {

constexpr uint8_t kHelloType = 1, kPingType = 2, kPongType = 3;
// A payload buffer starts at most this large and grows with the bytes that really arrive: a
// header that announces 32 MiB and then stalls pins 64 KiB, not 32 MiB.
constexpr size_t kInitialPayloadReserve = 64 * 1024;

void append(std::vector<uint8_t>& out, const uint8_t* data, size_t n) {
  if (n == 0) return;
  const size_t old = out.size();
  out.resize(old + n);  // resize + memcpy rather than insert(end): see chain/bytes.hpp append()
  std::memcpy(out.data() + old, data, n);
}

void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::array<uint8_t, kFrameHeaderBytes> encode_frame_header(uint8_t channel, uint32_t length) {
  return {channel, static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
          static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

std::vector<uint8_t> encode_frame(uint8_t channel, std::span<const uint8_t> payload) {
  auto header = encode_frame_header(channel, static_cast<uint32_t>(payload.size()));
  std::vector<uint8_t> out;
  out.reserve(kFrameHeaderBytes + payload.size());
  append(out, header.data(), header.size());
  append(out, payload.data(), payload.size());
  return out;
}

DecodeError FrameDecoder::feed(std::span<const uint8_t> in, std::vector<Frame>& out) {
  size_t pos = 0;
  while (error_ == DecodeError::none && pos < in.size()) {
    if (!in_payload_) {
      size_t take = std::min(kFrameHeaderBytes - header_len_, in.size() - pos);
      std::memcpy(header_.data() + header_len_, in.data() + pos, take);
      header_len_ += take;
      pos += take;
      if (header_len_ < kFrameHeaderBytes) break;
      channel_ = header_[0];
      length_ = (uint32_t{header_[1]} << 24) | (uint32_t{header_[2]} << 16) | (uint32_t{header_[3]} << 8) |
                uint32_t{header_[4]};
      const uint32_t limit = limits_[channel_];
      if (limit == 0) {
        error_ = DecodeError::unknown_channel;
        break;
      }
      if (length_ > limit) {
        error_ = DecodeError::oversized;
        break;
      }
      in_payload_ = true;
      payload_.clear();
      payload_.reserve(std::min<size_t>(length_, kInitialPayloadReserve));
    }
    size_t take = std::min<size_t>(length_ - payload_.size(), in.size() - pos);
    append(payload_, in.data() + pos, take);
    pos += take;
    if (payload_.size() == length_) {
      out.push_back(Frame{channel_, std::move(payload_)});
      payload_ = {};
      in_payload_ = false;
      header_len_ = 0;
    }
  }
  if (error_ != DecodeError::none) {
    payload_ = {};  // nothing more will be decoded: give the memory back now
  }
  return error_;
}

std::string FrameDecoder::error_text() const {
  switch (error_) {
    case DecodeError::none:
      return "no error";
    case DecodeError::unknown_channel:
      return "frame for unknown channel " + std::to_string(channel_);
    case DecodeError::oversized:
      return "frame of " + std::to_string(length_) + " bytes on channel " + std::to_string(channel_) +
             " exceeds its limit of " + std::to_string(limits_[channel_]);
  }
  return "unknown error";
}

std::vector<uint8_t> encode_control(const ControlMessage& m) {
  std::vector<uint8_t> out;
  if (auto* h = std::get_if<Hello>(&m)) {
    out.push_back(kHelloType);
    out.push_back(static_cast<uint8_t>(h->version >> 8));
    out.push_back(static_cast<uint8_t>(h->version));
    size_t n = std::min(h->network.size(), kMaxNetworkNameBytes);
    out.push_back(static_cast<uint8_t>(n));
    append(out, reinterpret_cast<const uint8_t*>(h->network.data()), n);
  } else if (auto* p = std::get_if<Ping>(&m)) {
    out.push_back(kPingType);
    put_u64(out, p->nonce);
  } else {
    out.push_back(kPongType);
    put_u64(out, std::get<Pong>(m).nonce);
  }
  return out;
}

ig::Expected<ControlMessage> decode_control(std::span<const uint8_t> p) {
  auto bad = [](const std::string& why) { return ig::fail("p2p.bad_control", why); };
  if (p.empty()) return bad("empty control message");
  switch (p[0]) {
    case kHelloType: {
      if (p.size() < 4) return bad("hello too short");
      Hello h;
      h.version = static_cast<uint16_t>(p[1] << 8 | p[2]);
      size_t n = p[3];
      if (n == 0 || n > kMaxNetworkNameBytes) return bad("hello network name must be 1..64 bytes");
      if (p.size() != 4 + n) return bad("hello length does not match its network name");
      h.network.assign(reinterpret_cast<const char*>(p.data() + 4), n);
      return ControlMessage{std::move(h)};
    }
    case kPingType:
    case kPongType: {
      if (p.size() != 9) return bad("ping/pong must be 9 bytes");
      uint64_t nonce = get_u64(p.data() + 1);
      if (p[0] == kPingType) return ControlMessage{Ping{nonce}};
      return ControlMessage{Pong{nonce}};
    }
    default:
      return bad("unknown control message type " + std::to_string(p[0]));
  }
}

}  // namespace ig::p2p
