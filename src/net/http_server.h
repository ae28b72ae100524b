// A small HTTP/1.1 server on the node's loops for GET endpoints (/metrics, /healthz; the REST
// API later). Handlers run on a loop thread and must not block.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "net/acceptor.h"
#include "net/http.h"

namespace verge::net {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

class HttpConnection;

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(LoopGroup& loops, const ListenAddress& addr,
                                                   HttpHandler handler);
  // Call after the loops have stopped: closes what is still open.
  ~HttpServer();
  const ListenAddress& address() const { return acceptor_->address(); }

 private:
  friend class HttpConnection;
  HttpServer() = default;
  HttpHandler handler_;
  std::unique_ptr<Acceptor> acceptor_;
  // Open connections per loop, each set touched only by its loop's thread.
  std::vector<std::unordered_set<HttpConnection*>> live_;
};

}  // namespace verge::net
