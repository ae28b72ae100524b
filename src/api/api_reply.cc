#include "api/api_reply.h"

namespace verge::api {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> query_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> query_params(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      auto k = query_decode(part.substr(0, eq));
      auto v =
          query_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
      if (!k || !v) return std::nullopt;
      out.emplace_back(std::move(*k), std::move(*v));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::optional<net::HttpReply> parse_body_object(const net::HttpRequest& req, Value& out) {
  if (req.body.empty()) return error_reply(400, "a JSON object body is required");
  auto v = parse_json(req.body);
  if (!v) {
    ValueObject extra;
    extra.emplace_back("offset", static_cast<int64_t>(v.error().offset));
    return error_reply(400, "invalid JSON: " + v.error().message, std::move(extra));
  }
  if (!v->is_object()) return error_reply(400, "the body must be a JSON object");
  out = std::move(*v);
  return std::nullopt;
}

}  // namespace verge::api
