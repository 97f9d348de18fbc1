// libFuzzer target: the JSON-RPC dispatcher on arbitrary bytes. Whatever the input, handle()
// must return (no exception, no sanitizer report) and any reply must be valid JSON.
//
//   build/bin/fuzz_rpc_dispatch -max_len=4096 /tmp/corpus tests/rpc/fuzz/corpus   # until stopped;
//   new inputs go to the first directory, the seeds in the second are only read
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <spdlog/spdlog.h>

#include "rpc/detail/dispatch.hpp"

namespace {

using namespace ig::rpc;
using namespace ig::rpc::detail;

class Host : public SubscriptionHost {
 public:
  MethodResult subscribe(const std::string& topic, const json&) override { return topic; }
  bool unsubscribe(const std::string& id) override { return id.size() % 2 == 0; }
};

const Dispatcher& dispatcher() {
  static const Dispatcher d = [] {
    spdlog::set_level(spdlog::level::off);
    std::map<std::string, Handler> m;
    m["echo"] = [](const json& p) -> MethodResult { return p; };
    m["throws"] = [](const json& p) -> MethodResult { return p.at(0).get<std::string>(); };  // throws on bad params
    m["fails"] = [](const json&) -> MethodResult { return not_found("nothing"); };
    return Dispatcher(std::move(m), {"newHeads", "events"}, DispatchLimits{});
  }();
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Host host;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto reply = dispatcher().handle(text, (size % 2) ? &host : nullptr);
  if (reply && json::parse(*reply, nullptr, false).is_discarded()) std::abort();
  return 0;
}
