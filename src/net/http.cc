#include "net/http.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace verge::net {

namespace {

constexpr size_t kMaxHeaderFields = 100;

constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kTchar = make_tchar_table();

bool is_tchar(uint8_t c) { return kTchar[c]; }
bool is_vchar(uint8_t c) { return c >= 0x21 && c <= 0x7e; }
// Field-value octets: VCHAR, SP, HTAB, obs-text.
bool is_field_char(uint8_t c) { return c == ' ' || c == '\t' || is_vchar(c) || c >= 0x80; }
bool is_ows(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view as_sv(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

HttpParse bad(HttpParseError* error, const char* text, int status = 400) {
  if (error != nullptr) *error = HttpParseError{text, status};
  return HttpParse::Bad;
}

// Validates a request line. `complete` is false when `line` is only the start of it (no CRLF
// yet): then a prefix that could still become valid is accepted.
const char* check_request_line(std::string_view line, bool complete, HttpRequest* out) {
  size_t i = 0;
  while (i < line.size() && is_tchar(static_cast<uint8_t>(line[i]))) ++i;
  if (i == line.size()) return complete ? "malformed request line" : nullptr;
  if (line[i] != ' ') return "invalid character in method";
  if (i == 0) return "empty method";
  const std::string_view method = line.substr(0, i);
  const size_t t0 = i + 1;
  size_t t1 = t0;
  while (t1 < line.size() && is_vchar(static_cast<uint8_t>(line[t1]))) ++t1;
  if (t0 < line.size() && line[t0] != '/') return "request target is not origin-form";
  if (t1 == line.size()) return complete ? "malformed request line" : nullptr;
  if (line[t1] != ' ') return "invalid character in request target";
  if (t1 == t0) return "empty request target";
  const std::string_view target = line.substr(t0, t1 - t0);
  const std::string_view version = line.substr(t1 + 1);
  constexpr std::string_view kPrefix = "HTTP/1.";
  if (!complete) {
    const size_t n = std::min(version.size(), kPrefix.size());
    if (version.substr(0, n) != kPrefix.substr(0, n)) return "unsupported HTTP version";
    if (version.size() > kPrefix.size()) {
      const char minor = version[kPrefix.size()];
      if ((minor != '0' && minor != '1') || version.size() > kPrefix.size() + 1) {
        return "unsupported HTTP version";
      }
    }
    return nullptr;
  }
  if (version == "HTTP/1.1") {
    out->version_minor = 1;
  } else if (version == "HTTP/1.0") {
    out->version_minor = 0;
  } else {
    return "unsupported HTTP version";
  }
  out->method.assign(method);
  out->target.assign(target);
  return nullptr;
}

// Validates a header field line (without CRLF) and appends it to out->headers.
const char* parse_header_line(std::string_view line, HttpRequest* out) {
  if (is_ows(line.front())) return "obsolete line folding is not allowed";
  size_t i = 0;
  while (i < line.size() && is_tchar(static_cast<uint8_t>(line[i]))) ++i;
  if (i == line.size() || line[i] != ':') {
    return (i < line.size() && is_ows(line[i])) ? "whitespace before colon in header field"
                                                : "invalid header field name";
  }
  if (i == 0) return "empty header field name";
  for (size_t j = i + 1; j < line.size(); ++j) {
    if (!is_field_char(static_cast<uint8_t>(line[j]))) return "invalid character in header value";
  }
  if (out->headers.size() >= kMaxHeaderFields) return "too many header fields";
  out->headers.emplace_back(std::string(line.substr(0, i)),
                            std::string(trim_ows(line.substr(i + 1))));
  return nullptr;
}

// Checks the parsed head as a whole and finds the body length.
HttpParse check_semantics(const HttpRequest& req, const HttpLimits& limits, size_t* body_len,
                          HttpParseError* error) {
  auto fail = [&](const char* text, int status) {
    if (error != nullptr) *error = HttpParseError{text, status};
    return HttpParse::Bad;
  };
  if (req.header_count("Transfer-Encoding") > 0) {
    return limits.max_body_bytes == 0
               ? fail("request bodies are not supported", 400)
               : fail("Transfer-Encoding is not supported: send the body with Content-Length", 411);
  }
  bool have_length = false;
  uint64_t length = 0;
  for (const auto& [name, value] : req.headers) {
    if (!ieq(name, "Content-Length")) continue;
    if (value.empty()) return fail("invalid Content-Length", 400);
    uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
      return fail("invalid Content-Length", 400);
    }
    // Disagreeing lengths are how requests are smuggled past proxies: refuse them.
    if (have_length && n != length) return fail("conflicting Content-Length headers", 400);
    have_length = true;
    length = n;
  }
  if (length != 0 && limits.max_body_bytes == 0) {
    return fail("request bodies are not supported", 400);
  }
  if (length > limits.max_body_bytes) return fail("request body too large", 413);
  if (req.version_minor == 1) {
    const size_t hosts = req.header_count("Host");
    if (hosts == 0) return fail("missing Host header", 400);
    if (hosts > 1) return fail("duplicate Host header", 400);
  } else if (req.header_count("Host") > 1) {
    return fail("duplicate Host header", 400);
  }
  *body_len = static_cast<size_t>(length);
  return HttpParse::Complete;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (ieq(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

size_t HttpRequest::header_count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(),
                                           [&](const auto& h) { return ieq(h.first, name); }));
}

bool HttpRequest::header_has_token(std::string_view name, std::string_view token) const {
  for (const auto& [n, v] : headers) {
    if (!ieq(n, name)) continue;
    std::string_view rest = v;
    while (true) {
      const size_t comma = rest.find(',');
      if (ieq(trim_ows(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

std::string_view HttpRequest::path() const {
  const std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::query() const {
  const std::string_view t = target;
  const size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

HttpParse parse_http_request(std::span<const uint8_t> buf, HttpRequest& out, const char** error,
                             size_t max_header_bytes) {
  HttpParseError e;
  const HttpParse r = parse_http_request(
      buf, out, &e, HttpLimits{.max_header_bytes = max_header_bytes, .max_body_bytes = 0});
  if (error != nullptr) *error = e.message;
  return r;
}

HttpParse parse_http_request(std::span<const uint8_t> buf, HttpRequest& out, HttpParseError* error,
                             const HttpLimits& limits) {
  out.method.clear();
  out.target.clear();
  out.version_minor = 1;
  out.headers.clear();
  out.header_bytes = 0;
  out.body.clear();
  out.total_bytes = 0;
  if (error != nullptr) *error = HttpParseError{};
  const size_t max_header_bytes = limits.max_header_bytes;

  const std::string_view all = as_sv(buf);
  const std::string_view text = all.substr(0, std::min(all.size(), max_header_bytes));
  bool have_request_line = false;
  size_t pos = 0;
  while (true) {
    const size_t lf = text.find('\n', pos);
    if (lf == std::string_view::npos) {
      // Incomplete line: reject early what can never become valid.
      std::string_view partial = text.substr(pos);
      const size_t cr = partial.find('\r');
      if (cr != std::string_view::npos && cr + 1 != partial.size()) {
        return bad(error, "bare CR in request head");
      }
      if (cr != std::string_view::npos) partial.remove_suffix(1);
      if (!have_request_line) {
        if (!partial.empty()) {
          if (const char* e = check_request_line(partial, false, &out)) return bad(error, e);
        }
      } else if (!partial.empty()) {
        if (is_ows(partial.front())) return bad(error, "obsolete line folding is not allowed");
        size_t i = 0;
        while (i < partial.size() && is_tchar(static_cast<uint8_t>(partial[i]))) ++i;
        if (i < partial.size()) {
          if (partial[i] != ':') {
            return bad(error, is_ows(partial[i]) ? "whitespace before colon in header field"
                                                 : "invalid header field name");
          }
          if (i == 0) return bad(error, "empty header field name");
          for (size_t j = i + 1; j < partial.size(); ++j) {
            if (!is_field_char(static_cast<uint8_t>(partial[j]))) {
              return bad(error, "invalid character in header value");
            }
          }
        }
      }
      if (all.size() >= max_header_bytes) return bad(error, "request head too large", 431);
      out.headers.clear();
      out.method.clear();
      out.target.clear();
      return HttpParse::NeedMore;
    }
    if (lf == pos || text[lf - 1] != '\r') return bad(error, "bare LF in request head");
    const std::string_view line = text.substr(pos, lf - 1 - pos);
    if (line.find('\r') != std::string_view::npos) return bad(error, "bare CR in request head");
    pos = lf + 1;
    if (!have_request_line) {
      if (line.empty()) continue;  // RFC 9112 2.2: ignore empty lines before the request line
      if (const char* e = check_request_line(line, true, &out)) return bad(error, e);
      have_request_line = true;
      continue;
    }
    if (line.empty()) break;  // end of head
    if (const char* e = parse_header_line(line, &out)) return bad(error, e);
  }
  size_t body_len = 0;
  if (check_semantics(out, limits, &body_len, error) == HttpParse::Bad) return HttpParse::Bad;
  out.header_bytes = pos;
  if (all.size() - pos < body_len) return HttpParse::NeedMore;  // head kept for 100-continue
  out.body.assign(all.substr(pos, body_len));
  out.total_bytes = pos + body_len;
  return HttpParse::Complete;
}

std::string_view http_reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string http_response(
    int status, std::string_view content_type, std::string_view body,
    std::span<const std::pair<std::string_view, std::string_view>> extra_headers) {
  const bool no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  if (no_body) body = {};
  std::string out;
  out.reserve(128 + body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += http_reason_phrase(status);
  out += "\r\n";
  auto safe = [](std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; };
  if (!content_type.empty() && safe(content_type)) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  if (!no_body) {
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  for (const auto& [name, value] : extra_headers) {
    if (name.empty() || !safe(name) || !safe(value)) continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace verge::net
