// One message waiting in a connection's outbound queue. A notification shares
// its serialized result between every subscriber (`body`), and only the small
// per-subscription envelope (`head`, `tail`) is copied.
#pragma once

#include <memory>
#include <string>

namespace ig::rpc::detail {

struct Outbound {
  std::string head;
  std::shared_ptr<const std::string> body;  // may be null
  std::string tail;
  bool notification = false;  // counts against max_queued_notifications

  size_t size() const { return head.size() + (body ? body->size() : 0) + tail.size(); }
};

}  // namespace ig::rpc::detail
