// The HTTP listener of `verge edge` and `verge cloud`: started when http-listen is set, with the
// "listening" log line the tests and operators read the bound address from.
#pragma once

#include <memory>
#include <optional>

#include "core/config.h"
#include "core/log.h"
#include "net/http_server.h"
#include "net/loop_group.h"

namespace verge::cmd {

// False (after logging why) when the listener cannot start; `out` stays null when it is off.
inline bool start_http_listener(net::LoopGroup& loops, const std::optional<ListenAddress>& listen,
                                net::HttpHandler handler, std::unique_ptr<net::HttpServer>& out) {
  if (!listen) return true;
  auto server = net::HttpServer::start(loops, *listen, std::move(handler));
  if (!server) {
    log_error("cannot start http listener", {{"error", "http-listen: " + server.error().message}});
    return false;
  }
  out = std::move(*server);
  log_info("listening", {{"listener", "http"}, {"addr", to_string(out->address())}});
  return true;
}

}  // namespace verge::cmd
