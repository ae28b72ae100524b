// Hub API: hub stats, nodes (create, list, view, relabel, revoke, delete, new enrolment token)
// and the devices each node reports.
#include <string>

#include "api/api_reply.h"
#include "api/hub_api_routes.h"
#include "core/clock.h"
#include "sync/pki.h"
#include "sync/topics.h"

namespace verge::api::hub {

namespace {

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

Value labels_value(const sync::Labels& labels) {
  ValueObject o;
  for (const auto& [k, v] : labels) o.emplace_back(k, v);
  return o;
}

// The list's entry: durable facts plus the live ones a table needs.
Value node_summary(const sync::NodeInfo& n) {
  ValueObject o;
  o.emplace_back("id", n.id);
  o.emplace_back("site", n.site);
  o.emplace_back("labels", labels_value(n.labels));
  o.emplace_back("state", std::string(sync::to_string(n.state)));
  o.emplace_back("online", n.online);
  o.emplace_back("last_seen_ms", n.last_seen_ms);
  o.emplace_back("created_ms", n.created_ms);
  o.emplace_back("enrolled_ms", n.enrolled_ms);
  const Value* version = n.status.find("version");
  o.emplace_back("version", version != nullptr ? *version : Value());
  o.emplace_back("desired_version", n.desired_version);
  const Value* applied = n.report.find("version");
  o.emplace_back("applied_version", applied != nullptr ? *applied : Value());
  return o;
}

// {"labels": {"k": "v", ...}} into `out`; a missing member leaves `out` as it is.
std::optional<net::HttpReply> read_labels(const Value& body, sync::Labels& out) {
  const Value* l = body.find("labels");
  if (l == nullptr || l->is_null()) return std::nullopt;
  if (!l->is_object()) return error_reply(400, "labels: expected an object of strings");
  sync::Labels labels;
  for (const auto& [k, v] : l->as_object()) {
    if (k.empty() || k.find_first_of("=,") != std::string::npos) {
      return error_reply(400, "labels: key '" + k + "' must be non-empty without '=' or ','");
    }
    if (!v.is_string() || v.as_string().find(',') != std::string::npos) {
      return error_reply(400, "labels." + k + ": expected a string without ','");
    }
    labels[k] = v.as_string();
  }
  out = std::move(labels);
  return std::nullopt;
}

std::optional<net::HttpReply> read_site(const Value& body, std::string& out) {
  const Value* s = body.find("site");
  if (s == nullptr || s->is_null()) return std::nullopt;
  if (!s->is_string()) return error_reply(400, "site: expected a string");
  out = s->as_string();
  return std::nullopt;
}

std::optional<net::HttpReply> only_keys(const Value& body,
                                        std::initializer_list<std::string_view> keys,
                                        std::string_view list) {
  for (const auto& [k, v] : body.as_object()) {
    bool known = false;
    for (std::string_view key : keys) known = known || k == key;
    if (!known) return error_reply(400, k + ": unknown key (" + std::string(list) + ")");
  }
  return std::nullopt;
}

Value token_reply(const std::string& id, const std::string& token) {
  ValueObject o;
  o.emplace_back("id", id);
  o.emplace_back("token", token);
  // The registry's default lifetime: the hub opens it with the default.
  o.emplace_back("expires_at_ms", wall_ms() + sync::RegistryOptions{}.enrol_token_ttl_ms);
  return o;
}

net::HttpReply list_nodes(const HubCall& c) {
  auto q = query_params(c.req.query());
  if (!q) return error_reply(400, "bad percent-encoding in the query");
  sync::Labels selector;
  std::optional<std::string> state;
  for (const auto& [k, v] : *q) {
    if (k == "selector") {
      auto s = sync::parse_selector(v);
      if (!s) return error_reply(400, "selector: " + s.error().message);
      selector = std::move(*s);
    } else if (k == "state") {
      if (v != "pending" && v != "active" && v != "revoked" && v != "online" && v != "offline") {
        return error_reply(400, "state: expected pending, active, revoked, online or offline");
      }
      state = v;
    } else {
      return error_reply(400, k + ": unknown parameter (selector, state)");
    }
  }
  ValueArray out;
  for (const auto& n : c.hub.registry().nodes(selector)) {
    if (state) {
      const bool match = *state == "online"    ? n.online
                         : *state == "offline" ? !n.online
                                               : sync::to_string(n.state) == *state;
      if (!match) continue;
    }
    out.push_back(node_summary(n));
  }
  ValueObject o;
  o.emplace_back("nodes", std::move(out));
  return json_reply(200, Value(std::move(o)));
}

net::HttpReply create_node(const HubCall& c) {
  Value body;
  if (auto bad = parse_body_object(c.req, body)) return *bad;
  if (auto bad = only_keys(body, {"id", "site", "labels"}, "id, site, labels")) return *bad;
  const Value* id = body.find("id");
  if (id == nullptr || !id->is_string()) return error_reply(400, "id: a string is required");
  if (!sync::topics::valid_name(id->as_string())) {
    return error_reply(400, "id: expected 1-64 characters of A-Z a-z 0-9 _ -");
  }
  std::string site;
  sync::Labels labels;
  if (auto bad = read_site(body, site)) return *bad;
  if (auto bad = read_labels(body, labels)) return *bad;
  auto existing = c.hub.registry().node(id->as_string());
  if (existing) {
    return error_reply(409, "node '" + id->as_string() + "' exists (" +
                                std::string(sync::to_string(existing->state)) + ")");
  }
  auto token = c.hub.create_node(id->as_string(), site, labels);
  if (!token) return op_error(token.error());
  ValueObject detail;
  detail.emplace_back("site", site);
  detail.emplace_back("labels", labels_value(labels));
  c.audit("node.create", "node:" + id->as_string(), Value(std::move(detail)));
  net::HttpReply r = json_reply(201, token_reply(id->as_string(), *token));
  r.headers.emplace_back("Location", "/api/v1/nodes/" + id->as_string());
  return r;
}

net::HttpReply relabel(const HubCall& c, const sync::NodeInfo& n) {
  Value body;
  if (auto bad = parse_body_object(c.req, body)) return *bad;
  if (auto bad = only_keys(body, {"site", "labels"}, "site, labels")) return *bad;
  std::string site = n.site;
  sync::Labels labels = n.labels;
  if (auto bad = read_site(body, site)) return *bad;
  if (auto bad = read_labels(body, labels)) return *bad;
  if (auto r = c.hub.relabel_node(n.id, site, labels); !r) return op_error(r.error());
  ValueObject detail;
  detail.emplace_back("site", site);
  detail.emplace_back("labels", labels_value(labels));
  c.audit("node.labels", "node:" + n.id, Value(std::move(detail)));
  auto now = c.hub.registry().node(n.id);
  if (!now) return error_reply(404, "node '" + n.id + "' was deleted meanwhile");
  return json_reply(200, node_summary(*now));
}

net::HttpReply new_token(const HubCall& c, const sync::NodeInfo& n) {
  if (n.state == sync::NodeState::Revoked) {
    return error_reply(409, "node '" + n.id +
                                "' is revoked: only a pending or active node gets a new enrolment "
                                "token");
  }
  // Active: re-enrolment (the enrolment reply was lost, or the key is replaced). Once the new token
  // is used the node's serial is the new certificate's and the old certificate is refused.
  Result<std::string> token = unexpected(Error{});
  if (n.state == sync::NodeState::Pending) {
    token = c.hub.create_node(n.id, n.site, n.labels);
  } else if (auto secret = c.hub.registry().reissue_enrol_token(n.id, wall_ms()); secret) {
    token = sync::format_enrol_token(sync::EnrolToken{n.id, *secret, c.hub.ca().ca_sha256});
  } else {
    token = unexpected(secret.error());
  }
  if (!token) return op_error(token.error());
  c.audit("node.token", "node:" + n.id);
  return json_reply(201, token_reply(n.id, *token));
}

net::HttpReply devices(const HubCall& c, const sync::NodeInfo& n) {
  const Value list = n.devices.is_array() ? n.devices : Value(ValueArray{});
  if (c.seg.size() == 3) {
    ValueObject o;
    o.emplace_back("node", n.id);
    o.emplace_back("devices", list);
    return json_reply(200, Value(std::move(o)));
  }
  if (c.seg.size() != 4) return error_reply(404, "not found");
  for (const Value& d : list.as_array()) {
    const Value* id = d.find("id");
    if (id != nullptr && id->is_string() && id->as_string() == c.seg[3]) return json_reply(200, d);
  }
  return error_reply(404, "node '" + n.id + "' reports no device '" + c.seg[3] + "'");
}

net::HttpReply one_node(const HubCall& c) {
  const std::string& id = c.seg[1];
  auto n = c.hub.registry().node(id);
  if (!n) return error_reply(404, "no node '" + id + "'");
  if (c.seg.size() == 2) {
    if (c.req.method == "GET") {
      auto view = c.hub.node_view(id);
      if (!view) return error_reply(404, "no node '" + id + "'");
      return json_reply(200, *view);
    }
    if (c.req.method == "DELETE") {
      if (auto r = c.hub.delete_node(id); !r) return op_error(r.error());
      c.audit("node.delete", "node:" + id);
      return net::HttpReply{204, "", ""};
    }
    return method_not_allowed("GET, DELETE");
  }
  const std::string& sub = c.seg[2];
  if (sub == "devices") {
    if (c.req.method != "GET") return method_not_allowed("GET");
    return devices(c, *n);
  }
  if (c.seg.size() != 3) return error_reply(404, "not found");
  if (sub == "labels") {
    if (c.req.method != "PUT") return method_not_allowed("PUT");
    return relabel(c, *n);
  }
  if (sub == "revoke") {
    if (c.req.method != "POST") return method_not_allowed("POST");
    if (auto r = c.hub.revoke_node(id); !r) return op_error(r.error());
    c.audit("node.revoke", "node:" + id);
    auto now = c.hub.registry().node(id);
    if (!now) return error_reply(404, "node '" + id + "' was deleted meanwhile");
    return json_reply(200, node_summary(*now));
  }
  if (sub == "token") {
    if (c.req.method != "POST") return method_not_allowed("POST");
    return new_token(c, *n);
  }
  return error_reply(404, "not found");
}

}  // namespace

net::HttpReply route_hub(const HubCall& c) {
  if (c.seg.size() != 1) return error_reply(404, "not found");
  if (c.req.method != "GET") return method_not_allowed("GET");
  int64_t total = 0, online = 0, pending = 0, active = 0, revoked = 0;
  for (const auto& n : c.hub.registry().nodes({})) {
    ++total;
    online += n.online ? 1 : 0;
    pending += n.state == sync::NodeState::Pending ? 1 : 0;
    active += n.state == sync::NodeState::Active ? 1 : 0;
    revoked += n.state == sync::NodeState::Revoked ? 1 : 0;
  }
  ValueObject nodes{{"total", total},
                    {"online", online},
                    {"pending", pending},
                    {"active", active},
                    {"revoked", revoked}};
  const sync::HubStats& s = c.hub.stats();
  ValueObject stats{{"enrolments", i64(s.enrolments)},
                    {"enrol_refused", i64(s.enrol_refused)},
                    {"batches", i64(s.batches)},
                    {"batch_errors", i64(s.batch_errors)},
                    {"records", i64(s.records)},
                    {"duplicates", i64(s.duplicates)},
                    {"quarantined", i64(s.quarantined)},
                    {"bytes_received", i64(s.bytes_received)},
                    {"bytes_uncompressed", i64(s.bytes_uncompressed)},
                    {"heartbeats", i64(s.heartbeats)},
                    {"desired_published", i64(s.desired_published)}};
  const sync::IngestStats in = c.hub.ingest().stats();
  ValueObject ingest{{"batches", i64(in.batches)},           {"records", i64(in.records)},
                     {"duplicates", i64(in.duplicates)},     {"gaps", i64(in.gaps)},
                     {"bytes_stored", i64(in.bytes_stored)}, {"errors", i64(in.errors)}};
  ValueObject o{{"nodes", Value(std::move(nodes))},
                {"stats", Value(std::move(stats))},
                {"ingest", Value(std::move(ingest))}};
  return json_reply(200, Value(std::move(o)));
}

net::HttpReply route_nodes(const HubCall& c) {
  if (c.seg.size() == 1) {
    if (c.req.method == "GET") return list_nodes(c);
    if (c.req.method == "POST") return create_node(c);
    return method_not_allowed("GET, POST");
  }
  if (c.seg.size() >= 3 && c.seg[2] == "desired") return route_node_desired(c);
  if (c.seg.size() >= 3 && c.seg[2] == "streams") return route_streams(c);
  return one_node(c);
}

}  // namespace verge::api::hub
