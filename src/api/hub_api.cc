// The hub API's entry: authentication, the role check and dispatch to the resource routes.
#include "api/hub_api.h"

#include <charconv>
#include <string>

#include "api/api_reply.h"
#include "api/hub_api_routes.h"
#include "core/clock.h"
#include "core/log.h"

namespace verge::api {

namespace {

constexpr std::string_view kPrefix = "/api/v1/";
constexpr std::string_view kResources[] = {"hub", "nodes", "desired", "alarms", "tokens", "audit"};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of a path segment: unlike a query, '+' stays '+'.
std::optional<std::string> path_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

net::HttpReply unauthorized(std::string_view why) {
  net::HttpReply r = error_reply(401, why);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"verge\"");
  return r;
}

// Tokens and the audit log are the admin's; any other change needs an operator; reading, a viewer.
sync::Role required_role(std::string_view method, std::string_view resource) {
  if (resource == "tokens" || resource == "audit") return sync::Role::Admin;
  if (method == "GET" || method == "HEAD") return sync::Role::Viewer;
  return sync::Role::Operator;
}

std::optional<sync::ApiToken> authenticate(const net::HttpRequest& req, sync::Hub& hub,
                                           net::HttpReply& refusal) {
  auto auth = req.header("Authorization");
  if (!auth) {
    refusal = unauthorized("authentication required (Authorization: Bearer <token>)");
    return std::nullopt;
  }
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view a = *auth;
  if (a.size() <= kBearer.size() || a.substr(0, kBearer.size()) != kBearer) {
    refusal = unauthorized("expected Authorization: Bearer <token>");
    return std::nullopt;
  }
  auto token = hub.registry().check_api_token(a.substr(kBearer.size()));
  if (!token) {
    refusal = unauthorized("invalid or deleted API token");
    return std::nullopt;
  }
  return token;
}

}  // namespace

bool is_hub_api_path(std::string_view path) {
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  path.remove_prefix(kPrefix.size());
  const std::string_view first = path.substr(0, path.find('/'));
  for (std::string_view r : kResources) {
    if (first == r) return true;
  }
  return false;
}

namespace hub {

void HubCall::audit(std::string_view action, std::string_view target, const Value& detail) const {
  auto r = hub.registry().audit(who.name, action, target, detail, wall_ms());
  if (!r) {
    log_error("hub api: audit write failed",
              {{"action", action}, {"target", target}, {"error", r.error().message}});
  }
}

int status_for_message(const std::string& message) {
  if (message.find("exists") != std::string::npos) return 409;
  if (message.find("unknown") != std::string::npos ||
      message.find("not found") != std::string::npos || message.rfind("no ", 0) == 0) {
    return 404;
  }
  return 400;
}

net::HttpReply op_error(const Error& e) {
  return error_reply(status_for_message(e.message), e.message);
}

namespace {

template <class T>
std::optional<net::HttpReply> query_number(
    const std::vector<std::pair<std::string, std::string>>& q, std::string_view name, T& out) {
  for (const auto& [k, v] : q) {
    if (k != name) continue;
    T n{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
      return error_reply(400, std::string(name) + ": expected an integer, got '" + v + "'");
    }
    out = n;
  }
  return std::nullopt;
}

}  // namespace

std::optional<net::HttpReply> query_u64(const std::vector<std::pair<std::string, std::string>>& q,
                                        std::string_view name, uint64_t& out) {
  return query_number(q, name, out);
}

std::optional<net::HttpReply> query_i64(const std::vector<std::pair<std::string, std::string>>& q,
                                        std::string_view name, int64_t& out) {
  return query_number(q, name, out);
}

}  // namespace hub

net::HttpReply handle_hub_request(const net::HttpRequest& req, sync::Hub& hub) {
  net::HttpReply refusal;
  auto who = authenticate(req, hub, refusal);
  if (!who) return refusal;

  const auto raw = path_segments(req.path());  // "api", "v1", resource, ...
  if (raw.size() < 3) return error_reply(404, "not found");
  std::vector<std::string> seg;
  for (size_t i = 2; i < raw.size(); ++i) {
    auto s = path_decode(raw[i]);
    if (!s) return error_reply(400, "bad percent-encoding in the path");
    seg.push_back(std::move(*s));
  }
  const std::string& resource = seg[0];
  if (who->role < required_role(req.method, resource)) {
    return error_reply(403, "role " + std::string(sync::to_string(who->role)) + " may not " +
                                req.method + " " + std::string(req.path()) + " (needs " +
                                std::string(sync::to_string(required_role(req.method, resource))) +
                                ")");
  }
  const hub::HubCall call{req, std::move(seg), hub, std::move(*who)};
  if (resource == "hub") return hub::route_hub(call);
  if (resource == "nodes") return hub::route_nodes(call);
  if (resource == "desired") return hub::route_desired(call);
  if (resource == "alarms") return hub::route_alarms(call);
  if (resource == "tokens") return hub::route_tokens(call);
  if (resource == "audit") return hub::route_audit(call);
  return error_reply(404, "not found");
}

}  // namespace verge::api
