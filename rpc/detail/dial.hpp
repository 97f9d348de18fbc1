// Helpers of the synchronous clients: they drive a private io_context on the
// caller's thread until an operation completes or a deadline passes.
#pragma once

#include <chrono>
#include <string>

#include "common/expected.hpp"
#include "rpc/detail/net.hpp"
#include "rpc/detail/url.hpp"

namespace ig::rpc::detail {

using Clock = std::chrono::steady_clock;

// Runs handlers until done() holds. "rpc.timeout" at the deadline;
// "rpc.transport" (with `gone`) when nothing is left to wait for.
template <typename Done>
ig::Status pump(net::io_context& ioc, Done&& done, Clock::time_point deadline,
                const std::string& gone) {
  while (!done()) {
    if (Clock::now() >= deadline) return ig::fail("rpc.timeout", "timed out");
    ioc.restart();
    if (ioc.run_one_until(deadline) == 0 && Clock::now() < deadline && !done()) {
      return ig::fail("rpc.transport", gone);
    }
  }
  return {};
}

// Resolves and connects `stream` to url.host:url.port before the deadline.
ig::Status dial(net::io_context& ioc, beast::tcp_stream& stream, const Url& url,
                Clock::time_point deadline);

}  // namespace ig::rpc::detail
