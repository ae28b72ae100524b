// Hub API: API tokens (admin only; a token's text is shown once, at creation) and the audit log.
#include <string>

#include "api/api_reply.h"
#include "api/hub_api_routes.h"
#include "core/clock.h"

namespace verge::api::hub {

namespace {

constexpr uint64_t kDefaultAuditLimit = 100;
constexpr uint64_t kMaxAuditLimit = 1000;

Value token_value(const sync::ApiToken& t) {
  ValueObject o;
  o.emplace_back("id", t.id);
  o.emplace_back("name", t.name);
  o.emplace_back("role", std::string(sync::to_string(t.role)));
  o.emplace_back("created_ms", t.created_ms);
  return o;
}

bool valid_token_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name) {
    if (ch < 0x21 || ch > 0x7e) return false;  // visible ASCII: names show up in the audit log
  }
  return true;
}

net::HttpReply create_token(const HubCall& c) {
  Value body;
  if (auto bad = parse_body_object(c.req, body)) return *bad;
  for (const auto& [k, v] : body.as_object()) {
    if (k != "name" && k != "role") return error_reply(400, k + ": unknown key (name, role)");
  }
  const Value* name = body.find("name");
  if (name == nullptr || !name->is_string() || !valid_token_name(name->as_string())) {
    return error_reply(400, "name: expected 1-64 visible ASCII characters");
  }
  const Value* role_text = body.find("role");
  if (role_text == nullptr || !role_text->is_string()) {
    return error_reply(400, "role: expected viewer, operator or admin");
  }
  auto role = sync::parse_role(role_text->as_string());
  if (!role) return error_reply(400, "role: expected viewer, operator or admin");
  auto token = c.hub.registry().create_api_token(name->as_string(), *role, wall_ms());
  if (!token) return op_error(token.error());
  auto entry = c.hub.registry().check_api_token(*token);
  if (!entry) return error_reply(500, "the new token does not check");
  ValueObject detail;
  detail.emplace_back("id", entry->id);
  detail.emplace_back("name", entry->name);
  detail.emplace_back("role", std::string(sync::to_string(entry->role)));
  c.audit("token.create", "token:" + entry->id, Value(std::move(detail)));
  ValueObject o;
  o.emplace_back("id", entry->id);
  o.emplace_back("name", entry->name);
  o.emplace_back("role", std::string(sync::to_string(entry->role)));
  o.emplace_back("token", *token);
  return json_reply(201, Value(std::move(o)));
}

}  // namespace

net::HttpReply route_tokens(const HubCall& c) {
  if (c.seg.size() == 1) {
    if (c.req.method == "GET") {
      ValueArray out;
      for (const auto& t : c.hub.registry().api_tokens()) out.push_back(token_value(t));
      ValueObject o;
      o.emplace_back("tokens", std::move(out));
      return json_reply(200, Value(std::move(o)));
    }
    if (c.req.method == "POST") return create_token(c);
    return method_not_allowed("GET, POST");
  }
  if (c.seg.size() != 2) return error_reply(404, "not found");
  if (c.req.method != "DELETE") return method_not_allowed("DELETE");
  const std::string& id = c.seg[1];
  std::optional<sync::ApiToken> found;
  for (auto& t : c.hub.registry().api_tokens()) {
    if (t.id == id) found = t;
  }
  if (!found) return error_reply(404, "no token '" + id + "'");
  if (auto r = c.hub.registry().delete_api_token(id); !r) return op_error(r.error());
  ValueObject detail;
  detail.emplace_back("name", found->name);
  detail.emplace_back("role", std::string(sync::to_string(found->role)));
  c.audit("token.delete", "token:" + id, Value(std::move(detail)));
  return net::HttpReply{204, "", ""};
}

net::HttpReply route_audit(const HubCall& c) {
  if (c.seg.size() != 1) return error_reply(404, "not found");
  if (c.req.method != "GET") return method_not_allowed("GET");
  auto q = query_params(c.req.query());
  if (!q) return error_reply(400, "bad percent-encoding in the query");
  for (const auto& [k, v] : *q) {
    if (k != "after" && k != "limit")
      return error_reply(400, k + ": unknown parameter (after, limit)");
  }
  int64_t after = 0;
  uint64_t limit = kDefaultAuditLimit;
  if (auto bad = query_i64(*q, "after", after)) return *bad;
  if (auto bad = query_u64(*q, "limit", limit)) return *bad;
  if (limit == 0 || limit > kMaxAuditLimit) return error_reply(400, "limit: expected 1..1000");
  ValueArray out;
  int64_t last = after;
  for (const auto& e : c.hub.registry().audit_log(after, limit)) {
    ValueObject o;
    o.emplace_back("id", e.id);
    o.emplace_back("ts_ms", e.ts_ms);
    o.emplace_back("who", e.who);
    o.emplace_back("action", e.action);
    o.emplace_back("target", e.target);
    o.emplace_back("detail", e.detail);
    out.emplace_back(std::move(o));
    last = e.id;
  }
  ValueObject o;
  o.emplace_back("entries", std::move(out));
  o.emplace_back("next_after", last);  // pass as ?after= for the next page
  return json_reply(200, Value(std::move(o)));
}

}  // namespace verge::api::hub
