// Small helpers shared by the JSON APIs: replies, errors, path segments and query parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/value.h"
#include "net/http_server.h"

namespace verge::api {

inline constexpr const char* kJsonType = "application/json";

inline net::HttpReply json_reply(int status, const Value& v) {
  std::string body = v.to_json();
  body += '\n';
  return net::HttpReply{status, kJsonType, std::move(body)};
}

inline net::HttpReply error_reply(int status, std::string_view message, ValueObject extra = {}) {
  ValueObject o;
  o.emplace_back("error", std::string(message));
  for (auto& m : extra) o.push_back(std::move(m));
  return json_reply(status, Value(std::move(o)));
}

inline net::HttpReply method_not_allowed(std::string_view allow) {
  net::HttpReply r = error_reply(405, "method not allowed (allowed: " + std::string(allow) + ")");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

// Splits "/a/b/c" into {"a", "b", "c"}; empty segments (a trailing '/') are kept, so
// "/api/v1/rules/" does not silently become the collection.
inline std::vector<std::string_view> path_segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Percent-decoding of a query component ('+' is a space); nullopt on a broken escape.
std::optional<std::string> query_decode(std::string_view s);

// The query's parameters in order, decoded; nullopt when one is broken.
std::optional<std::vector<std::pair<std::string, std::string>>> query_params(
    std::string_view query);

// The body as a JSON object, or a 400 reply naming the problem (and the offset for bad JSON).
std::optional<net::HttpReply> parse_body_object(const net::HttpRequest& req, Value& out);

}  // namespace verge::api
