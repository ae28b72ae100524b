// Pure HTTP/1.1 request parsing and response formatting for the broker's small HTTP surface
// (GET /metrics, GET /healthz, WebSocket upgrades). No I/O: the caller owns the socket and the
// buffer. Request bodies are not supported and are rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace verge::net {

struct HttpRequest {
  std::string method;
  std::string target;     // origin-form, e.g. "/metrics?x=1" (not decoded)
  int version_minor = 1;  // 0 or 1 (HTTP/1.0, HTTP/1.1)
  std::vector<std::pair<std::string, std::string>> headers;  // in order, values trimmed of OWS
  size_t header_bytes = 0;  // bytes consumed including the final CRLFCRLF

  // Value of the first header called `name` (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
  // Number of headers called `name` (case-insensitive).
  size_t header_count(std::string_view name) const;
  // True if any header called `name` holds `token` in its comma-separated list (both compared
  // case-insensitively, OWS around elements ignored), e.g. Connection: keep-alive, Upgrade.
  bool header_has_token(std::string_view name, std::string_view token) const;
};

enum class HttpParse { Complete, NeedMore, Bad };

// Parses the request head at the start of `buf` (which may hold more bytes after it).
//   Complete: `out` is filled; out.header_bytes bytes belong to this request.
//   NeedMore: the head is incomplete but valid so far (the caller reads more and calls again with
//             the whole buffer).
//   Bad:      *error (if `error` is non-null) points to a static text; the caller sends 400 and
//             closes.
// Strict: method is a token; target is origin-form ("/..." of visible ASCII); version is HTTP/1.0
// or HTTP/1.1; lines end in CRLF (bare CR or LF is Bad); header names are tokens followed directly
// by ':'; no obs-fold; no control characters in values; at most 100 header fields; HTTP/1.1 needs
// exactly one Host (RFC 9112 3.2); a head longer than `max_header_bytes` is Bad; a body
// (Content-Length other than 0, or any Transfer-Encoding) is Bad. Empty lines before the request
// line are skipped (RFC 9112 2.2) and count towards header_bytes.
HttpParse parse_http_request(std::span<const uint8_t> buf, HttpRequest& out, const char** error,
                             size_t max_header_bytes = 8192);

// The standard reason phrase for `status` ("Unknown" for codes it does not know).
std::string_view http_reason_phrase(int status);

// A complete HTTP/1.1 response: status line with the standard reason phrase, Content-Type (omitted
// when `content_type` is empty), Content-Length (omitted for 1xx, 204 and 304, whose body must be
// empty and is dropped), `extra_headers` in order, blank line, body. No Connection header is
// added. Extra headers whose name or value contain CR or LF are dropped (no header injection).
std::string http_response(
    int status, std::string_view content_type, std::string_view body,
    std::span<const std::pair<std::string_view, std::string_view>> extra_headers = {});

}  // namespace verge::net
