// A small HTTP/1.1 server on the node's loops (/metrics, /healthz, the REST API). The whole
// request, body included, is read before the handler runs; every method reaches the handler,
// which answers 405 with an Allow header for the ones it does not support. Handlers run on a loop
// thread and must not block for long (the rule manager's calls wait for the engine thread, which
// only does short work).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "net/acceptor.h"
#include "net/http.h"

namespace verge::net {

class HttpResponder;

struct HttpReply {
  HttpReply() = default;
  // Not an aggregate, so `HttpReply{200, type, body}` needs no initializer for `headers`.
  HttpReply(int s, std::string type, std::string b,
            std::vector<std::pair<std::string, std::string>> h = {})
      : status(s), content_type(std::move(type)), body(std::move(b)), headers(std::move(h)) {}

  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra response headers (Location, Allow, ...). Names or values holding CR or LF are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  // Set by deferred(): the connection stops reading and runs this with a responder; the answer
  // is sent when the responder is called (pipelined requests wait behind it).
  std::function<void(HttpResponder)> defer;

  // A reply that is not ready yet (it waits for a device, say): `start` gets the responder.
  static HttpReply deferred(std::function<void(HttpResponder)> start) {
    HttpReply r;
    r.defer = std::move(start);
    return r;
  }
};

// Answers one deferred request, once, from any thread. If the client went away meanwhile the
// reply is dropped. Copyable; the copies share the one answer.
class HttpResponder {
 public:
  void reply(HttpReply reply) const;

 private:
  friend class HttpConnection;
  struct State;
  std::shared_ptr<State> state_;
};

using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

class HttpConnection;

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(LoopGroup& loops, const ListenAddress& addr,
                                                   HttpHandler handler, HttpLimits limits = {});
  // Call after the loops have stopped: closes what is still open.
  ~HttpServer();
  const ListenAddress& address() const { return acceptor_->address(); }

 private:
  friend class HttpConnection;
  HttpServer() = default;
  HttpHandler handler_;
  HttpLimits limits_;
  std::unique_ptr<Acceptor> acceptor_;
  // Open connections per loop, each set touched only by its loop's thread.
  std::vector<std::unordered_set<HttpConnection*>> live_;
};

}  // namespace verge::net
