#include "rpc/detail/dial.hpp"

#include <memory>

namespace ig::rpc::detail {

ig::Status dial(net::io_context& ioc, beast::tcp_stream& stream, const Url& url,
                Clock::time_point deadline) {
  // Handlers own their state, so giving up at the deadline leaves nothing dangling.
  struct Op {
    explicit Op(net::io_context& ioc) : resolver(ioc) {}
    tcp::resolver resolver;
    tcp::resolver::results_type results;
    error_code ec;
    bool done = false;
  };
  const std::string where = url.host + ":" + std::to_string(url.port);
  auto connect = std::make_shared<Op>(ioc);
  auto finish = [&](error_code ec) -> ig::Status {
    if (ec) return ig::fail("rpc.transport", "cannot connect to " + where + ": " + ec.message());
    error_code ignored;  // Nagle only delays small requests; failing to disable it is harmless
    stream.socket().set_option(tcp::no_delay(true), ignored);
    return {};
  };

  // A literal address needs no resolver (whose thread is most of the cost of a short HTTP call).
  error_code literal_ec;
  auto address = net::ip::make_address(url.host, literal_ec);
  if (!literal_ec) {
    stream.async_connect(tcp::endpoint(address, url.port), [connect](error_code ec) {
      connect->ec = ec;
      connect->done = true;
    });
    auto st = pump(ioc, [&] { return connect->done; }, deadline, "connect stopped");
    if (!st) {
      stream.close();
      return ig::fail(st.error().code, "connecting to " + where + ": " + st.error().message);
    }
    return finish(connect->ec);
  }

  auto resolve = std::make_shared<Op>(ioc);
  resolve->resolver.async_resolve(url.host, std::to_string(url.port),
                                  [resolve](error_code ec, tcp::resolver::results_type r) {
                                    resolve->ec = ec;
                                    resolve->results = std::move(r);
                                    resolve->done = true;
                                  });
  auto st = pump(ioc, [&] { return resolve->done; }, deadline, "resolver stopped");
  if (!st) {
    resolve->resolver.cancel();
    return ig::fail(st.error().code, "resolving " + url.host + ": " + st.error().message);
  }
  if (resolve->ec) return ig::fail("rpc.transport", "cannot resolve " + url.host + ": " + resolve->ec.message());

  stream.async_connect(resolve->results, [connect](error_code ec, const tcp::endpoint&) {
    connect->ec = ec;
    connect->done = true;
  });
  st = pump(ioc, [&] { return connect->done; }, deadline, "connect stopped");
  if (!st) {
    stream.close();
    return ig::fail(st.error().code, "connecting to " + where + ": " + st.error().message);
  }
  return finish(connect->ec);
}

}  // namespace ig::rpc::detail
