// libFuzzer target: the frame decoder and the control-message decoder on arbitrary bytes, fed in
// chunks whose sizes the input's first byte chooses (the socket may split a stream anywhere).
// Whatever the input: no crash or sanitizer report, no frame on an unknown channel or over its
// cap, no more buffered than a header plus the largest cap, and control messages that decode
// re-encode to the same bytes.
//
//   build/bin/fuzz_p2p_frame -max_len=65536 build/fuzz-corpus/p2p_frame tests/p2p/fuzz/corpus
//   (new inputs go to the first directory; the seeds in the second are only read)
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "p2p/frame.hpp"

using namespace ig::p2p;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ChannelLimits limits{};
  limits[kControlChannel] = kMaxControlPayload;
  limits[0x20] = 4096;
  limits[0x30] = 300;
  limits[0x40] = 20000;
  const size_t chunk = 1 + data[0] * 37u;  // 1 .. 9436 bytes per feed
  FrameDecoder dec(limits);
  std::vector<Frame> out;
  for (size_t pos = 1; pos < size;) {
    size_t n = std::min(chunk, size - pos);
    DecodeError err = dec.feed(std::span<const uint8_t>(data + pos, n), out);
    check(dec.buffered_bytes() <= kFrameHeaderBytes + 20000);
    pos += n;
    if (err != DecodeError::none) {
      check(dec.feed(std::span<const uint8_t>(data, 1), out) == err);  // sticky
      break;
    }
  }
  for (auto& f : out) {
    check(limits[f.channel] != 0 && f.payload.size() <= limits[f.channel]);
    if (f.channel == kControlChannel) {
      auto m = decode_control(f.payload);
      if (m) check(encode_control(*m) == f.payload);
    }
  }
  auto direct = decode_control(std::span<const uint8_t>(data, std::min<size_t>(size, 200)));
  if (direct) check(encode_control(*direct).size() <= kMaxControlPayload);
  return 0;
}
