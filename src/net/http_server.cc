#include "net/http_server.h"

#include "net/stream_connection.h"

namespace verge::net {

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
      const char* error = nullptr;
      switch (parse_http_request(data.subspan(used), req, &error)) {
        case HttpParse::NeedMore:
          return used;
        case HttpParse::Bad: {
          const std::pair<std::string_view, std::string_view> h[] = {{"Connection", "close"}};
          send(http_response(400, "text/plain", std::string(error ? error : "bad request") + "\n",
                             h));
          close();
          return data.size();
        }
        case HttpParse::Complete:
          break;
      }
      used += req.header_bytes;
      HttpReply reply = req.method == "GET" || req.method == "HEAD"
                            ? handler_(req)
                            : HttpReply{405, "text/plain", "method not allowed\n"};
      const bool keep = req.version_minor == 1 && !req.header_has_token("Connection", "close");
      const std::pair<std::string_view, std::string_view> h[] = {
          {"Connection", keep ? "keep-alive" : "close"}};
      std::string response = http_response(reply.status, reply.content_type, reply.body, h);
      // HEAD: the same head (Content-Length included) without the body. http_response already
      // leaves the body out for 1xx/204/304, so strip it only where it is present.
      if (req.method == "HEAD" && std::string_view(response).ends_with(reply.body)) {
        response.resize(response.size() - reply.body.size());
      }
      send(response);
      if (!keep) close();
    }
    return data.size();
  }
  void on_closed(std::string_view /*reason*/) override {
    server_.live_[loop().index()].erase(this);
    loop().next_iteration([this] { delete this; });  // behind any deferred read
  }

 private:
  HttpServer& server_;
  const HttpHandler& handler_;
};

HttpServer::~HttpServer() {
  acceptor_.reset();
  for (auto& set : live_) {
    for (HttpConnection* c : set) delete c;
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(LoopGroup& loops, const ListenAddress& addr,
                                                      HttpHandler handler) {
  auto sock = listen_tcp(addr);
  if (!sock) return unexpected(sock.error());
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->handler_ = std::move(handler);
  HttpServer* raw = server.get();
  server->live_.resize(loops.size());
  server->acceptor_ = std::make_unique<Acceptor>(loops, *sock, 0, [raw](EventLoop& loop, int fd) {
    auto* c = new HttpConnection(loop, make_tcp_transport(fd), *raw);
    c->start();  // deletes itself when closed
  });
  return server;
}

}  // namespace verge::net
