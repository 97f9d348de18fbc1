// The explorer's pages (docs/explorer.md), built into the binary from gateway/explorer/ by
// embed.cmake, and served by the node at /explorer over its JSON-RPC port:
//
//   server.add_get("/explorer/", ig::explorer::serve);
//
// The page talks to the same node over a same-origin WebSocket (allowed by the RPC's Origin
// rule) and needs nothing from the network at run time: its charts are SVG drawn by
// charts.js, no library.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "rpc/server.hpp"

namespace ig::explorer {

struct EmbeddedFile {
  const char* name;            // "index.html", "app.js", ...
  const unsigned char* data;   // the file's bytes
  size_t size;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;

// The file for a request path: "/explorer" and "/explorer/" give index.html,
// "/explorer/app.js" gives app.js; nothing else (no directories, no other names).
const EmbeddedFile* find(std::string_view path);
std::string_view content_type(std::string_view name);

// The GET handler for rpc::Server::add_get("/explorer/", ...): the file with its type and a
// Content-Security-Policy that allows only this origin (scripts, styles, the WebSocket).
rpc::HttpReply serve(const rpc::HttpGet& get);

}  // namespace ig::explorer
