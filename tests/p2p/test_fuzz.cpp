// A randomized run of the frame decoder and the control-message decoder: valid streams split at
// random must decode exactly; mutated streams (bit flips, truncations, insertions, random
// headers) must never crash, never decode a frame over its channel's cap or on an unknown
// channel, and never buffer more than a header plus the largest cap. The number of inputs is
// printed; IG_P2P_FUZZ_ITERATIONS=N runs longer (CI keeps the default short).
// The libFuzzer target fuzz_p2p_frame (fuzz_frame.cpp) covers the same code where clang exists.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "p2p/frame.hpp"

namespace {

using namespace ig::p2p;

size_t iterations() {
  const char* env = std::getenv("IG_P2P_FUZZ_ITERATIONS");
  if (env && *env) return std::strtoull(env, nullptr, 10);
  return 20000;
}

ChannelLimits limits() {
  ChannelLimits l{};
  l[kControlChannel] = kMaxControlPayload;
  l[0x20] = 4096;
  l[0x30] = 300;
  l[0x40] = 20000;
  return l;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

struct Stream {
  std::vector<uint8_t> bytes;
  std::vector<Frame> frames;
};

Stream valid_stream(std::mt19937_64& rng) {
  static const uint8_t kChannels[] = {0x20, 0x30, 0x40, kControlChannel};
  const auto l = limits();
  Stream s;
  size_t count = 1 + rng() % 8;
  for (size_t i = 0; i < count; ++i) {
    uint8_t ch = kChannels[rng() % 4];
    std::vector<uint8_t> payload;
    if (ch == kControlChannel) {
      switch (rng() % 3) {
        case 0: payload = encode_control(Hello{kProtocolVersion, std::string(1 + rng() % 64, 'n')}); break;
        case 1: payload = encode_control(Ping{rng()}); break;
        default: payload = encode_control(Pong{rng()}); break;
      }
    } else {
      payload = random_bytes(rng, rng() % (l[ch] + 1));
    }
    auto f = encode_frame(ch, payload);
    s.bytes.insert(s.bytes.end(), f.begin(), f.end());
    s.frames.push_back(Frame{ch, std::move(payload)});
  }
  return s;
}

// Feeds in random chunk sizes; checks the invariants that must hold for any input.
DecodeError feed_checked(const std::vector<uint8_t>& in, std::mt19937_64& rng, std::vector<Frame>& out) {
  const auto l = limits();
  FrameDecoder dec(l);
  size_t pos = 0;
  DecodeError err = DecodeError::none;
  while (pos < in.size()) {
    size_t n = std::min<size_t>(in.size() - pos, 1 + rng() % 3000);
    err = dec.feed(std::span<const uint8_t>(in.data() + pos, n), out);
    EXPECT_LE(dec.buffered_bytes(), kFrameHeaderBytes + 20000);
    pos += n;
    if (err != DecodeError::none) {
      EXPECT_EQ(dec.feed(std::span<const uint8_t>(in.data(), std::min<size_t>(in.size(), 8)), out), err);
      EXPECT_LE(dec.buffered_bytes(), kFrameHeaderBytes) << "a dead decoder holds no payload";
      break;
    }
  }
  for (auto& f : out) {
    EXPECT_NE(l[f.channel], 0u);
    EXPECT_LE(f.payload.size(), l[f.channel]);
    if (f.channel == kControlChannel) {
      auto m = decode_control(f.payload);  // must not crash whatever the payload
      if (m) {
        EXPECT_EQ(encode_control(*m), f.payload) << "control encoding is canonical";
      }
    }
  }
  return err;
}

TEST(FrameFuzzTest, RandomizedAndMutatedStreams) {
  const size_t n = iterations();
  std::mt19937_64 rng(0x1e2f3a4b5c6d7e8fULL);
  size_t inputs = 0, rejected = 0, frames = 0;
  for (size_t i = 0; i < n; ++i) {
    Stream s = valid_stream(rng);
    {
      std::vector<Frame> out;
      ASSERT_EQ(feed_checked(s.bytes, rng, out), DecodeError::none);
      ASSERT_EQ(out.size(), s.frames.size());
      for (size_t k = 0; k < out.size(); ++k) {
        ASSERT_EQ(out[k].channel, s.frames[k].channel);
        ASSERT_EQ(out[k].payload, s.frames[k].payload);
      }
      frames += out.size();
      ++inputs;
    }
    std::vector<uint8_t> m = s.bytes;
    switch (rng() % 5) {
      case 0:  // flip bits
        for (size_t k = 0, flips = 1 + rng() % 8; k < flips && !m.empty(); ++k) m[rng() % m.size()] ^= 1u << (rng() % 8);
        break;
      case 1:  // truncate
        m.resize(rng() % (m.size() + 1));
        break;
      case 2: {  // insert random bytes
        auto junk = random_bytes(rng, 1 + rng() % 16);
        m.insert(m.begin() + static_cast<std::ptrdiff_t>(rng() % (m.size() + 1)), junk.begin(), junk.end());
        break;
      }
      case 3: {  // a random header with a random length
        auto h = encode_frame_header(static_cast<uint8_t>(rng()), static_cast<uint32_t>(rng()));
        m.insert(m.begin(), h.begin(), h.end());
        break;
      }
      default:  // pure noise
        m = random_bytes(rng, rng() % 512);
        break;
    }
    std::vector<Frame> out;
    if (feed_checked(m, rng, out) != DecodeError::none) ++rejected;
    frames += out.size();
    ++inputs;
    // The control decoder on raw noise too.
    auto noise = random_bytes(rng, rng() % 80);
    if (!noise.empty() && rng() % 2) noise[0] = static_cast<uint8_t>(1 + rng() % 3);
    (void)decode_control(noise);
    ++inputs;
  }
  std::printf("p2p frame fuzz: %zu inputs, %zu rejected streams, %zu frames decoded\n", inputs, rejected, frames);
  EXPECT_GT(rejected, 0u);
}

}  // namespace
