#include "net/http_server.h"

#include <atomic>

#include "net/event_loop.h"
#include "net/stream_connection.h"

namespace verge::net {

struct HttpResponder::State {
  EventLoop* loop = nullptr;
  HttpConnection* conn = nullptr;  // read and cleared on the loop's thread only
  std::atomic<bool> answered{false};
};

class HttpConnection final : public StreamConnection {
 public:
  HttpConnection(EventLoop& loop, std::unique_ptr<Transport> t, HttpServer& server)
      : StreamConnection(loop, std::move(t)), server_(server), handler_(server.handler_) {
    server_.live_[loop.index()].insert(this);
  }

 protected:
  size_t on_bytes(std::span<const uint8_t> data) override {
    size_t used = 0;
    while (!closed()) {
      HttpRequest req;
      HttpParseError error;
      switch (parse_http_request(data.subspan(used), req, &error, server_.limits_)) {
        case HttpParse::NeedMore:
          // curl and others wait (a second, by default) for this before sending a large body.
          if (req.header_bytes != 0 && !continue_sent_ && req.version_minor == 1 &&
              req.header_has_token("Expect", "100-continue")) {
            send("HTTP/1.1 100 Continue\r\n\r\n");
            continue_sent_ = true;
          }
          return used;
        case HttpParse::Bad: {
          const std::pair<std::string_view, std::string_view> h[] = {{"Connection", "close"}};
          send(http_response(error.status, "text/plain",
                             std::string(error.message ? error.message : "bad request") + "\n", h));
          close();
          return data.size();
        }
        case HttpParse::Complete:
          break;
      }
      used += req.total_bytes;
      continue_sent_ = false;
      HttpReply reply = handler_(req);
      const bool keep = req.version_minor == 1 && !req.header_has_token("Connection", "close");
      const bool head = req.method == "HEAD";
      if (reply.defer) {
        // Later requests on this connection wait in the buffer until this one is answered.
        pause_input();
        waiting_ = std::make_shared<HttpResponder::State>();
        waiting_->loop = &loop();
        waiting_->conn = this;
        waiting_keep_ = keep;
        waiting_head_ = head;
        HttpResponder responder;
        responder.state_ = waiting_;
        reply.defer(std::move(responder));
        return used;
      }
      answer(reply, keep, head);
      if (!keep) close();
    }
    return data.size();
  }
  void on_closed(std::string_view /*reason*/) override {
    if (waiting_) waiting_->conn = nullptr;
    server_.live_[loop().index()].erase(this);
    loop().next_iteration([this] { delete this; });  // behind any deferred read
  }

 private:
  friend class HttpResponder;

  void answer(const HttpReply& reply, bool keep, bool head) {
    std::vector<std::pair<std::string_view, std::string_view>> h;
    h.reserve(reply.headers.size() + 1);
    h.emplace_back("Connection", keep ? "keep-alive" : "close");
    for (const auto& [name, value] : reply.headers) h.emplace_back(name, value);
    std::string response = http_response(reply.status, reply.content_type, reply.body, h);
    // HEAD: the same head (Content-Length included) without the body. http_response already
    // leaves the body out for 1xx/204/304, so strip it only where it is present.
    if (head && std::string_view(response).ends_with(reply.body)) {
      response.resize(response.size() - reply.body.size());
    }
    send(response);
  }

  // On the loop thread: the deferred request is answered.
  void finish_deferred(const HttpReply& reply) {
    const bool keep = waiting_keep_;
    waiting_.reset();
    answer(reply, keep, waiting_head_);
    if (!keep) {
      close();
      return;
    }
    resume_input();  // runs the requests that waited behind it
  }

  HttpServer& server_;
  const HttpHandler& handler_;
  bool continue_sent_ = false;                     // for the request being read
  std::shared_ptr<HttpResponder::State> waiting_;  // the deferred request being answered
  bool waiting_keep_ = false;
  bool waiting_head_ = false;
};

void HttpResponder::reply(HttpReply reply) const {
  if (!state_ || state_->answered.exchange(true)) return;
  auto state = state_;
  state->loop->post([state, reply = std::move(reply)] {
    if (state->conn != nullptr) state->conn->finish_deferred(reply);
  });
}

HttpServer::~HttpServer() {
  acceptor_.reset();
  for (auto& set : live_) {
    for (HttpConnection* c : set) delete c;
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(LoopGroup& loops, const ListenAddress& addr,
                                                      HttpHandler handler, HttpLimits limits) {
  auto sock = listen_tcp(addr);
  if (!sock) return unexpected(sock.error());
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->handler_ = std::move(handler);
  server->limits_ = limits;
  HttpServer* raw = server.get();
  server->live_.resize(loops.size());
  server->acceptor_ = std::make_unique<Acceptor>(loops, *sock, 0, [raw](EventLoop& loop, int fd) {
    auto* c = new HttpConnection(loop, make_tcp_transport(fd), *raw);
    c->start();  // deletes itself when closed
  });
  return server;
}

}  // namespace verge::net
