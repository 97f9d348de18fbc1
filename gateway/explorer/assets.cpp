#include "gateway/explorer/assets.hpp"

#include <string>

namespace ig::explorer {

const EmbeddedFile* find(std::string_view path) {
  std::string_view name;
  if (path == "/explorer" || path == "/explorer/") {
    name = "index.html";
  } else if (path.substr(0, 10) == "/explorer/") {
    name = path.substr(10);
  } else {
    return nullptr;
  }
  for (size_t i = 0; i < kEmbeddedFileCount; ++i)
    if (kEmbeddedFiles[i].name == name) return &kEmbeddedFiles[i];
  return nullptr;
}

std::string_view content_type(std::string_view name) {
  auto ends = [&](std::string_view s) { return name.size() >= s.size() && name.substr(name.size() - s.size()) == s; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

rpc::HttpReply serve(const rpc::HttpGet& get) {
  const EmbeddedFile* f = find(get.path);
  if (!f) return rpc::HttpReply{404, "text/plain; charset=utf-8", "not found\n", {}};
  rpc::HttpReply r;
  r.content_type = std::string(content_type(f->name));
  r.body.assign(reinterpret_cast<const char*>(f->data), f->size);
  // Only this origin: the page's own scripts and styles, and its WebSocket to the node. Data
  // from the chain (prompts, generated text) is inserted as text, never as markup.
  r.headers = {{"Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
               {"Cache-Control", "no-cache"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

}  // namespace ig::explorer
