// Pure HTTP/1.1 request parsing and response formatting for the broker's small HTTP surface
// (GET /metrics, GET /healthz, WebSocket upgrades, the REST API). No I/O: the caller owns the
// socket and the buffer. Request bodies are accepted with Content-Length only (up to a limit);
// chunked Transfer-Encoding is refused, which keeps the parser small and closes the door to
// request smuggling through disagreeing length headers.
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
  size_t header_bytes = 0;  // bytes of the head, including the final CRLFCRLF
  std::string body;         // Content-Length bytes after the head (empty without one)
  size_t total_bytes = 0;   // header_bytes + body.size(): what this request consumed

  // The request target without its query ("/api/v1/rules" for "/api/v1/rules?x=1").
  std::string_view path() const;
  // The raw (undecoded) query after '?', empty when there is none.
  std::string_view query() const;

  // Value of the first header called `name` (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
  // Number of headers called `name` (case-insensitive).
  size_t header_count(std::string_view name) const;
  // True if any header called `name` holds `token` in its comma-separated list (both compared
  // case-insensitively, OWS around elements ignored), e.g. Connection: keep-alive, Upgrade.
  bool header_has_token(std::string_view name, std::string_view token) const;
};

enum class HttpParse { Complete, NeedMore, Bad };

struct HttpLimits {
  size_t max_header_bytes = 8192;
  size_t max_body_bytes = size_t{1} << 20;  // 1 MiB
};

// Why a request was refused: `message` is a static text, `status` the reply to send (400 for
// malformed input, 411 for Transfer-Encoding, 413 for a body over the limit, 431 for a head over
// the limit). The caller sends it and closes: the rest of the stream cannot be trusted.
struct HttpParseError {
  const char* message = nullptr;
  int status = 400;
};

// Parses one request (head and body) at the start of `buf` (which may hold more bytes after it).
//   Complete: `out` is filled; out.total_bytes bytes belong to this request.
//   NeedMore: the request is incomplete but valid so far (the caller reads more and calls again
//             with the whole buffer). When the head is complete and only body bytes are missing,
//             out.header_bytes is set (and the headers filled), so a server can answer
//             `Expect: 100-continue`; otherwise it is 0.
//   Bad:      `error` (if non-null) says why and which status to send.
// Strict: method is a token; target is origin-form ("/..." of visible ASCII); version is HTTP/1.0
// or HTTP/1.1; lines end in CRLF (bare CR or LF is Bad); header names are tokens followed directly
// by ':'; no obs-fold; no control characters in values; at most 100 header fields; HTTP/1.1 needs
// exactly one Host (RFC 9112 3.2); a head longer than max_header_bytes is Bad (431); a
// Content-Length must be digits only, and several must agree (RFC 9110 8.6); a body longer than
// max_body_bytes is Bad (413) as soon as the head announces it; any Transfer-Encoding is Bad
// (411). Empty lines before the request line are skipped (RFC 9112 2.2) and count towards
// header_bytes. A request without Content-Length has no body (RFC 9112 6.3).
HttpParse parse_http_request(std::span<const uint8_t> buf, HttpRequest& out, HttpParseError* error,
                             const HttpLimits& limits);

// The head-only form for callers that take no body and answer every refusal with 400 (the
// WebSocket handshake, which hands the bytes after the head to the frame decoder): bodies are
// refused ("request bodies are not supported") as before bodies existed.
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
