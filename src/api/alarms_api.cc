// Alarm routes of the rule engine's REST API: list (filtered), one alarm, acknowledge.
#include <charconv>
#include <chrono>
#include <string>

#include "api/api_reply.h"
#include "api/rules_api.h"
#include "core/clock.h"

namespace verge::api {

std::optional<net::HttpReply> handle_alarms_request(const net::HttpRequest& req,
                                                    const std::vector<std::string_view>& seg,
                                                    rules::AlarmService* alarms);

namespace {

constexpr size_t kMaxLimit = 1000;

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

net::HttpReply list_alarms(const net::HttpRequest& req, rules::AlarmService& alarms) {
  auto params = query_params(req.query());
  if (!params) return error_reply(400, "malformed query string");
  rules::AlarmFilter f;
  for (const auto& [k, v] : *params) {
    if (k == "active") {
      if (v != "true" && v != "false") return error_reply(400, "active: expected true or false");
      f.active = v == "true";
    } else if (k == "severity") {
      auto s = rules::parse_severity(v);
      if (!s) {
        return error_reply(400, "severity: expected critical, major, minor, warning or info");
      }
      f.severity_at_least = *s;
    } else if (k == "key") {
      f.key_prefix = v;
    } else if (k == "limit") {
      auto n = parse_int(v);
      if (!n || *n < 1 || static_cast<size_t>(*n) > kMaxLimit) {
        return error_reply(400, "limit: expected an integer from 1 to 1000");
      }
      f.limit = static_cast<size_t>(*n);
    } else {
      return error_reply(400, k + ": unknown parameter (known: active, severity, key, limit)");
    }
  }
  auto list = alarms.list(f);
  if (!list) return error_reply(500, list.error().message);
  ValueArray arr;
  for (const auto& a : *list) arr.push_back(a.to_value());
  ValueObject o;
  o.emplace_back("alarms", std::move(arr));
  return json_reply(200, Value(std::move(o)));
}

}  // namespace

std::optional<net::HttpReply> handle_alarms_request(const net::HttpRequest& req,
                                                    const std::vector<std::string_view>& seg,
                                                    rules::AlarmService* alarms) {
  if (alarms == nullptr) return error_reply(503, "alarms are not enabled on this node");
  if (seg.size() == 3) {
    if (req.method != "GET") return method_not_allowed("GET");
    return list_alarms(req, *alarms);
  }
  auto id = parse_int(seg[3]);
  if (!id) return error_reply(404, "no alarm '" + std::string(seg[3]) + "'");
  auto found = alarms->get(*id);
  if (!found) return error_reply(500, found.error().message);
  if (!found->has_value()) return error_reply(404, "no alarm " + std::to_string(*id));
  if (seg.size() == 4) {
    if (req.method != "GET") return method_not_allowed("GET");
    return json_reply(200, (*found)->to_value());
  }
  if (seg.size() != 5 || seg[4] != "ack") return error_reply(404, "not found");
  if (req.method != "POST") return method_not_allowed("POST");
  Value body;
  if (auto bad = parse_body_object(req, body)) return *bad;
  const Value* by = body.find("by");
  if (by == nullptr || !by->is_string() || by->as_string().empty()) {
    return error_reply(400, "by: expected a non-empty string (who acknowledges)");
  }
  auto acked = alarms->ack(*id, by->as_string(), wall_ms());
  if (!acked) return error_reply(500, acked.error().message);
  return json_reply(200, acked->to_value());
}

}  // namespace verge::api
