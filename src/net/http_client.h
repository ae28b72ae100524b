// A small asynchronous HTTP/1.1 client on an EventLoop, for the rule engine's webhooks.
//
//   HttpClient client(loop);
//   auto url = parse_http_url("http://127.0.0.1:8080/hook");
//   client.request({"POST", *url, {{"Content-Type", "application/json"}}, body, 5000},
//                  [](Result<HttpClientResponse> r) { ... });
//
// One request per connection (Connection: close): webhooks are rare next to messages, and a
// fresh connection never meets a stale keep-alive socket the server already closed. The
// response body is read by Content-Length, chunked transfer coding, or until the server closes.
//
// Hosts: IPv4 and IPv6 literals and "localhost" connect at once. Other names are resolved on a
// short-lived helper thread (getaddrinfo blocks, and the client runs on the engine thread), IPv4
// preferred, first address only; the result comes back through the loop, and the request's
// timeout covers the lookup. https is refused by parse_http_url with a clear error.
//
// Threading: loop thread only, including construction and destruction. `done` runs on the loop
// thread, never from inside request(), exactly once per request unless the client is destroyed
// first (pending requests are then abandoned without their callback).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "net/event_loop.h"
#include "net/timer_queue.h"

namespace verge::net {

struct HttpUrl {
  std::string host;  // as written, without brackets for IPv6
  uint16_t port = 80;
  std::string target = "/";  // path and query
};

// "http://host[:port][/path][?query]"; errors say what is wrong ("https is not supported ...",
// "host 'example.com' is not an IP address or localhost ...").
Result<HttpUrl> parse_http_url(std::string_view url);

struct HttpClientRequest {
  std::string method = "POST";
  HttpUrl url;
  std::vector<std::pair<std::string, std::string>> headers;  // Host, Content-Length added
  std::string body;
  uint64_t timeout_ms = 5000;  // connect, send and the whole response
};

struct HttpClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct ResolvedAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
};
using Resolver = std::function<Result<ResolvedAddress>(const std::string& host, uint16_t port)>;

// getaddrinfo for TCP, IPv4 addresses first, then IPv6; the first address. Blocks.
Result<ResolvedAddress> resolve_host(const std::string& host, uint16_t port);

struct HttpClientOptions {
  size_t max_response_bytes = 1 << 20;  // head + body; larger responses fail the request
  // Resolves names (not literals) on a helper thread; null = resolve_host. Tests inject one.
  Resolver resolver;
};

class HttpClient {
 public:
  using Done = std::function<void(Result<HttpClientResponse>)>;

  explicit HttpClient(EventLoop& loop, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void request(HttpClientRequest req, Done done);
  size_t in_flight() const { return calls_.size(); }

 private:
  class Call;
  void finish(uint64_t id, Result<HttpClientResponse> result);

  EventLoop& loop_;
  HttpClientOptions options_;
  TimerQueue timers_;
  std::map<uint64_t, std::unique_ptr<Call>> calls_;
  uint64_t next_id_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for deferred callbacks
  // Lets resolver threads reach the client (and its loop) only while it exists.
  struct Link {
    std::mutex mu;
    HttpClient* client;  // guarded by mu; null once the client is destroyed
  };
  std::shared_ptr<Link> link_;
  void resolve(uint64_t id, const std::string& host, uint16_t port);
  void resolved(uint64_t id, const Result<ResolvedAddress>& address);
};

// Parses an HTTP/1.x response head at the start of `buf`. Complete: returns the head's size;
// 0 when more bytes are needed; an error for a malformed head.
Result<size_t> parse_http_response_head(std::string_view buf, HttpClientResponse& out);

// Parses a whole response (after any interim 1xx ones) at the start of `buf`: nullopt while more
// bytes are needed, an error for a malformed or (with `eof`: the server closed) truncated one.
// The body is read by Content-Length, chunked coding, or up to `eof`; none for HEAD, 204, 304.
// Pure (no I/O), so it is fuzzed alone (fuzz/http_response_fuzz.cc).
Result<std::optional<HttpClientResponse>> parse_http_response(std::string_view buf, bool eof,
                                                              bool head_request = false);

}  // namespace verge::net
