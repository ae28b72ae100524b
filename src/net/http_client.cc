#include "net/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <system_error>
#include <thread>

#include "net/socket.h"

namespace verge::net {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const std::string* find_header(const HttpClientResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

// Decodes a complete chunked body from `in`; returns false while more bytes are needed.
// Re-parses from the start on each call: webhook responses are small.
Result<bool> decode_chunked(std::string_view in, std::string& out) {
  out.clear();
  size_t pos = 0;
  for (;;) {
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return false;
    std::string_view line = in.substr(pos, eol - pos);
    if (auto semi = line.find(';'); semi != std::string_view::npos) line = line.substr(0, semi);
    line = trim_ows(line);
    uint64_t size = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (line.empty() || ec != std::errc() || p != line.data() + line.size() || size > (1u << 30)) {
      return unexpected(Error{"bad chunk size in the response"});
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields, then an empty line.
      for (;;) {
        const size_t end = in.find("\r\n", pos);
        if (end == std::string_view::npos) return false;
        if (end == pos) return true;
        pos = end + 2;
      }
    }
    if (in.size() < pos + size + 2) return false;
    out.append(in.substr(pos, size));
    if (in.substr(pos + size, 2) != "\r\n") {
      return unexpected(Error{"chunk not followed by CRLF in the response"});
    }
    pos += size + 2;
  }
}

}  // namespace

Result<ResolvedAddress> resolve_host(const std::string& host, uint16_t port) {
  const std::string service = std::to_string(port);
  for (int family : {AF_INET, AF_INET6}) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (rc != 0 || list == nullptr) {
      if (family == AF_INET6) {
        return unexpected(Error{"cannot resolve host '" + host + "': " + gai_strerror(rc)});
      }
      continue;
    }
    ResolvedAddress out;
    std::memcpy(&out.addr, list->ai_addr, list->ai_addrlen);
    out.len = list->ai_addrlen;
    freeaddrinfo(list);
    return out;
  }
  return unexpected(Error{"cannot resolve host '" + host + "'"});
}

Result<HttpUrl> parse_http_url(std::string_view url) {
  HttpUrl out;
  constexpr std::string_view kHttp = "http://";
  if (url.substr(0, 8) == "https://") {
    return unexpected(
        Error{"https is not supported by the webhook client yet (use http, or a "
              "local TLS-terminating proxy)"});
  }
  if (url.substr(0, kHttp.size()) != kHttp) {
    return unexpected(Error{"expected a URL starting with http://"});
  }
  std::string_view rest = url.substr(kHttp.size());
  const size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    out.target = std::string(rest.substr(slash));
    if (out.target.front() == '?') out.target.insert(0, "/");
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#') {
      return unexpected(Error{"the URL path holds a space, control character or fragment"});
    }
  }
  if (authority.find('@') != std::string_view::npos) {
    return unexpected(Error{"user information in the URL is not supported (use headers)"});
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return unexpected(Error{"unterminated [ in the host"});
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return unexpected(Error{"expected ':' after the IPv6 address"});
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return unexpected(Error{"the URL has no host"});
  if (!port_text.empty() || authority.back() == ':') {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
      return unexpected(Error{"bad port '" + std::string(port_text) + "'"});
    }
    out.port = static_cast<uint16_t>(port);
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!literal_address(out.host, out.port, ss, len)) {
    const bool name_ok = out.host.size() <= 253 && out.host.front() != '-' &&
                         out.host.front() != '.' &&
                         std::all_of(out.host.begin(), out.host.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                  (c >= '0' && c <= '9') || c == '-' || c == '.';
                         });
    if (!name_ok) {
      return unexpected(Error{"host '" + out.host + "' is not an IP address or a host name"});
    }
  }
  return out;
}

Result<size_t> parse_http_response_head(std::string_view buf, HttpClientResponse& out) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return size_t{0};
  std::string_view head = buf.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    return unexpected(Error{"bad status line in the response"});
  }
  int status = 0;
  auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
  if (ec != std::errc() || p != status_line.data() + 12 || status < 100 ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return unexpected(Error{"bad status code in the response"});
  }
  out.status = status;
  out.headers.clear();
  size_t pos = eol + 2;
  while (pos < head.size()) {
    const size_t line_end = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, line_end - pos);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return unexpected(Error{"bad header line in the response"});
    }
    out.headers.emplace_back(std::string(line.substr(0, colon)),
                             std::string(trim_ows(line.substr(colon + 1))));
    pos = line_end + 2;
  }
  return end + 4;
}

Result<std::optional<HttpClientResponse>> parse_http_response(std::string_view buf, bool eof,
                                                              bool head_request) {
  using Out = std::optional<HttpClientResponse>;
  HttpClientResponse resp;
  size_t head_bytes = 0;
  for (;;) {
    auto head = parse_http_response_head(buf, resp);
    if (!head) return unexpected(head.error());
    if (*head == 0) {
      if (buf.size() > 65536) return unexpected(Error{"response head larger than 64 KiB"});
      if (eof) return unexpected(Error{"connection closed before the response ended"});
      return Out();
    }
    if (resp.status >= 100 && resp.status < 200) {
      buf.remove_prefix(*head);  // interim response (100 Continue): the real one follows
      continue;
    }
    head_bytes = *head;
    break;
  }
  const std::string_view body = buf.substr(head_bytes);
  if (head_request || resp.status == 204 || resp.status == 304) return Out(std::move(resp));
  if (const std::string* te = find_header(resp, "transfer-encoding")) {
    if (!iequals(trim_ows(*te), "chunked")) {
      return unexpected(Error{"unsupported transfer coding '" + *te + "' in the response"});
    }
    auto done = decode_chunked(body, resp.body);
    if (!done) return unexpected(done.error());
    if (*done) return Out(std::move(resp));
  } else if (const std::string* cl = find_header(resp, "content-length")) {
    uint64_t length = 0;
    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), length);
    if (cl->empty() || ec != std::errc() || p != cl->data() + cl->size()) {
      return unexpected(Error{"bad Content-Length in the response"});
    }
    if (body.size() >= length) {
      resp.body = std::string(body.substr(0, length));
      return Out(std::move(resp));
    }
  } else if (eof) {
    resp.body = std::string(body);  // delimited by the end of the connection
    return Out(std::move(resp));
  }
  if (eof) return unexpected(Error{"connection closed before the response ended"});
  return Out();
}

// One request on its own connection: connect, send, read the response.
class HttpClient::Call final : public EventLoop::Handler {
 public:
  Call(HttpClient* client, HttpClientRequest req, Done done)
      : client_(client), req_(std::move(req)), done_(std::move(done)) {}
  virtual ~Call() { shutdown(); }

  // Returns an error when the connection cannot even be started (the caller defers it).
  // Connects at once to a literal; a name is resolved first (the client calls connect_to).
  Result<void> start() {
    ResolvedAddress a;
    if (!literal_address(req_.url.host, req_.url.port, a.addr, a.len)) {
      client_->resolve(id, req_.url.host, req_.url.port);
      return {};
    }
    return connect_to(a);
  }

  Result<void> connect_to(const ResolvedAddress& a) {
    auto fd = start_connect(a.addr, a.len);
    if (!fd) return unexpected(fd.error());
    fd_ = *fd;
    build_request();
    if (!client_->loop_.add(fd_, EPOLLOUT, this)) {
      return unexpected(Error{std::string("epoll: ") + std::strerror(errno)});
    }
    registered_ = true;
    return {};
  }

  // Unregisters and closes; the object is freed later (events of this batch may still come).
  void shutdown() {
    if (fd_ >= 0) {
      if (registered_ && client_ != nullptr) client_->loop_.remove(fd_);
      close(fd_);
      fd_ = -1;
    }
    client_ = nullptr;
  }

  uint64_t id = 0;
  TimerQueue::Id timer = 0;

 private:
  friend class HttpClient;

  void build_request() {
    const bool v6 = req_.url.host.find(':') != std::string::npos;
    out_ = req_.method + " " + req_.url.target + " HTTP/1.1\r\nHost: ";
    out_ += v6 ? "[" + req_.url.host + "]" : req_.url.host;
    if (req_.url.port != 80) out_ += ":" + std::to_string(req_.url.port);
    out_ += "\r\nConnection: close\r\n";
    for (const auto& [k, v] : req_.headers) {
      if (iequals(k, "host") || iequals(k, "content-length") || iequals(k, "connection") ||
          iequals(k, "transfer-encoding") || k.find_first_of("\r\n:") != std::string::npos ||
          v.find_first_of("\r\n") != std::string::npos) {
        continue;  // framing is ours; CR/LF would inject headers
      }
      out_ += k + ": " + v + "\r\n";
    }
    if (!req_.body.empty() || req_.method == "POST" || req_.method == "PUT" ||
        req_.method == "PATCH") {
      out_ += "Content-Length: " + std::to_string(req_.body.size()) + "\r\n";
    }
    out_ += "\r\n";
    out_ += req_.body;
  }

  void on_events(uint32_t events) override {
    if (client_ == nullptr) return;  // finished in this batch; freed in the next iteration
    if (!connected_) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(std::string("connect: ") + std::strerror(err));
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
      connected_ = true;
    }
    if (sent_ < out_.size()) {
      while (sent_ < out_.size()) {
        const ssize_t n = send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) return;
          if (errno == EINTR) continue;
          return fail(std::string("send: ") + std::strerror(errno));
        }
        sent_ += static_cast<size_t>(n);
      }
      client_->loop_.modify(fd_, EPOLLIN | EPOLLRDHUP, this);
      return;
    }
    read_some();
  }

  void read_some() {
    for (;;) {
      char buf[16384];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        if (in_.size() > client_->options_.max_response_bytes) {
          return fail("response larger than " +
                      std::to_string(client_->options_.max_response_bytes) + " bytes");
        }
        if (parse(false)) return;
        continue;
      }
      if (n == 0) {
        parse(true);  // completes or fails: at the end of the stream nothing more can come
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      return fail(std::string("recv: ") + std::strerror(errno));
    }
  }

  // True when the call finished (response complete or malformed).
  bool parse(bool eof) {
    auto parsed = parse_http_response(in_, eof, req_.method == "HEAD");
    if (!parsed) {
      fail(parsed.error().message);
      return true;
    }
    if (!parsed->has_value()) return false;
    client_->finish(id, std::move(**parsed));
    return true;
  }

  void fail(std::string why) { client_->finish(id, unexpected(Error{std::move(why)})); }

  HttpClient* client_;  // null once finished
  HttpClientRequest req_;
  Done done_;
  int fd_ = -1;
  bool registered_ = false;
  bool connected_ = false;
  std::string out_;
  size_t sent_ = 0;
  std::string in_;
};

HttpClient::HttpClient(EventLoop& loop, HttpClientOptions options)
    : loop_(loop), options_(std::move(options)), timers_(loop), link_(std::make_shared<Link>()) {
  link_->client = this;
}

HttpClient::~HttpClient() {
  {
    std::lock_guard lock(link_->mu);
    link_->client = nullptr;
  }
  // Abandon what is in flight: close now, free in the loop's next iteration (an event of this
  // batch may still name a call).
  for (auto& [id, call] : calls_) {
    call->shutdown();
    std::shared_ptr<Call> dead(std::move(call));
    loop_.next_iteration([dead] {});
  }
}

void HttpClient::request(HttpClientRequest req, Done done) {
  const uint64_t timeout_ms = req.timeout_ms;
  auto owned = std::make_unique<Call>(this, std::move(req), std::move(done));
  Call* call = owned.get();
  const uint64_t id = next_id_++;
  call->id = id;
  calls_.emplace(id, std::move(owned));
  call->timer = timers_.after(timeout_ms, [this, id, timeout_ms] {
    finish(id, unexpected(Error{"timeout after " + std::to_string(timeout_ms) + " ms"}));
  });
  if (auto started = call->start(); !started) {
    // Never call back from inside request(): the caller may hold state it is changing.
    std::weak_ptr<bool> alive = alive_;
    loop_.next_iteration([this, alive, id, e = started.error()] {
      if (!alive.expired()) finish(id, unexpected(e));
    });
  }
}

void HttpClient::resolve(uint64_t id, const std::string& host, uint16_t port) {
  Resolver resolver = options_.resolver ? options_.resolver : Resolver(resolve_host);
  EventLoop* loop = &loop_;
  auto work = [link = link_, loop, resolver, host, port, id] {
    Result<ResolvedAddress> address = resolver(host, port);
    // Posting only while the client exists also means only while its loop does.
    std::lock_guard lock(link->mu);
    if (link->client == nullptr) return;
    loop->post([link, id, address] {
      HttpClient* client = nullptr;
      {
        std::lock_guard again(link->mu);
        client = link->client;
      }
      // The loop thread is the one that destroys the client: it stays valid during the call.
      if (client != nullptr) client->resolved(id, address);
    });
  };
  try {
    std::thread(std::move(work)).detach();
  } catch (const std::system_error& e) {
    std::weak_ptr<bool> alive = alive_;
    loop_.next_iteration([this, alive, id, why = std::string(e.what())] {
      if (!alive.expired()) finish(id, unexpected(Error{"cannot start a resolver thread: " + why}));
    });
  }
}

void HttpClient::resolved(uint64_t id, const Result<ResolvedAddress>& address) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;  // timed out meanwhile
  if (!address) return finish(id, unexpected(address.error()));
  if (auto r = it->second->connect_to(*address); !r) finish(id, unexpected(r.error()));
}

void HttpClient::finish(uint64_t id, Result<HttpClientResponse> result) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;  // already finished (a timeout and an error in one batch)
  std::shared_ptr<Call> dead(std::move(it->second));
  calls_.erase(it);
  timers_.cancel(dead->timer);
  Done done = std::move(dead->done_);
  dead->shutdown();
  loop_.next_iteration([dead] {});
  if (done) done(std::move(result));
}

}  // namespace verge::net
