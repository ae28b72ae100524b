// Fuzzes the HTTP request parser (head-only form and with bodies) and the WebSocket handshake
// built on it. Invariants are checked with abort(): status/error consistency, the header limit,
// that a Complete head ends in CRLFCRLF, parses identically when given alone, that no shorter
// prefix of it is Complete, and that a body is exactly the Content-Length bytes after the head.
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "net/http.h"
#include "net/websocket.h"

namespace {

using verge::net::HttpParse;
using verge::net::HttpRequest;

void check(bool ok) {
  if (!ok) std::abort();
}

bool same(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.version_minor == b.version_minor &&
         a.headers == b.headers && a.header_bytes == b.header_bytes;
}

void run(std::span<const uint8_t> in, size_t limit) {
  HttpRequest req;
  const char* err = nullptr;
  const HttpParse r = verge::net::parse_http_request(in, req, &err, limit);
  if (r == HttpParse::Bad) {
    check(err != nullptr && err[0] != '\0');
    return;
  }
  check(err == nullptr);
  if (r == HttpParse::NeedMore) {
    check(in.size() < limit);
    return;
  }
  const size_t n = req.header_bytes;
  check(n >= 4 && n <= in.size() && n <= limit);
  check(std::memcmp(in.data() + n - 4, "\r\n\r\n", 4) == 0);
  check(!req.method.empty() && !req.target.empty() && req.target[0] == '/');
  check(req.version_minor == 0 || req.version_minor == 1);
  for (const auto& [name, value] : req.headers) {
    check(!name.empty());
    check(req.header(name).has_value());
    check(req.header_count(name) >= 1);
    check(value.find_first_of("\r\n") == std::string::npos);
    check(value.empty() || (value.front() != ' ' && value.back() != ' '));
  }
  HttpRequest again;
  check(verge::net::parse_http_request(in.first(n), again, &err, limit) == HttpParse::Complete);
  check(same(req, again));
  HttpRequest shorter;
  check(verge::net::parse_http_request(in.first(n - 1), shorter, &err, limit) ==
        HttpParse::NeedMore);
  check(verge::net::parse_http_request(in.first(n / 2), shorter, &err, limit) ==
        HttpParse::NeedMore);

  const auto hs = verge::net::websocket_handshake_response(req);
  if (hs.has_value()) {
    check(hs->rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
    check(hs->size() >= 4 && hs->compare(hs->size() - 4, 4, "\r\n\r\n") == 0);
    check(req.method == "GET" && req.version_minor == 1);
  } else {
    check(!hs.error().message.empty());
  }
}

// The form with bodies: the body is the bytes after the head, never more than the limit, and a
// request parses the same alone; every refusal carries one of the documented statuses.
void run_with_body(std::span<const uint8_t> in, size_t header_limit, size_t body_limit) {
  HttpRequest req;
  verge::net::HttpParseError err;
  const verge::net::HttpLimits limits{header_limit, body_limit};
  const HttpParse r = verge::net::parse_http_request(in, req, &err, limits);
  if (r == HttpParse::Bad) {
    check(err.message != nullptr && err.message[0] != '\0');
    check(err.status == 400 || err.status == 411 || err.status == 413 || err.status == 431);
    return;
  }
  check(err.message == nullptr);
  if (r == HttpParse::NeedMore) {
    check(req.header_bytes == 0 || req.header_bytes <= in.size());
    return;
  }
  check(req.total_bytes == req.header_bytes + req.body.size());
  check(req.total_bytes <= in.size() && req.body.size() <= body_limit);
  check(std::memcmp(in.data() + req.header_bytes, req.body.data(), req.body.size()) == 0);
  HttpRequest again;
  check(verge::net::parse_http_request(in.first(req.total_bytes), again, &err, limits) ==
        HttpParse::Complete);
  check(same(req, again) && again.body == req.body);
  if (req.total_bytes > 0) {
    check(verge::net::parse_http_request(in.first(req.total_bytes - 1), again, &err, limits) ==
          HttpParse::NeedMore);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  run(in, 8192);
  run(in, 64);
  if (size > 0) run(in, data[0]);
  run_with_body(in, 8192, 1 << 20);
  run_with_body(in, 8192, 16);

  // The response builder: the declared Content-Length matches the body that follows.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const int status = size >= 2 ? 100 + (data[0] | (data[1] << 8)) % 500 : 200;
  const std::pair<std::string_view, std::string_view> extra[] = {
      {"X-Fuzz", text.substr(0, size / 3)}};
  const std::string resp =
      verge::net::http_response(status, "text/plain", text.substr(size / 2), extra);
  const size_t end = resp.find("\r\n\r\n");
  check(end != std::string::npos);
  const std::string_view head(resp.data(), end + 2);
  const size_t cl = head.find("\r\nContent-Length: ");
  if (cl != std::string_view::npos) {
    size_t len = 0;
    const char* first = head.data() + cl + 18;
    const auto [ptr, ec] = std::from_chars(first, head.data() + head.size(), len);
    check(ec == std::errc() && *ptr == '\r' && len == resp.size() - end - 4);
  } else {
    check(resp.size() == end + 4);
  }
  return 0;
}
