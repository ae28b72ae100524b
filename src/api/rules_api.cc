// Rules and streams routes of the rule engine's REST API; alarms are in alarms_api.cc.
#include "api/rules_api.h"

#include <string>

#include "api/api_reply.h"

namespace verge::api {

std::optional<net::HttpReply> handle_alarms_request(const net::HttpRequest& req,
                                                    const std::vector<std::string_view>& seg,
                                                    rules::AlarmService* alarms);

namespace {

using rules::RuleErrc;
using rules::RuleError;

int status_for(RuleErrc code) {
  switch (code) {
    case RuleErrc::Invalid:
    case RuleErrc::Sql:
      return 400;
    case RuleErrc::NotFound:
      return 404;
    case RuleErrc::Exists:
    case RuleErrc::Conflict:
      return 409;
    case RuleErrc::Internal:
      return 500;
  }
  return 500;
}

ValueObject sql_position(const rules::SqlError& e) {
  ValueObject o;
  o.emplace_back("line", static_cast<int64_t>(e.pos.line));
  o.emplace_back("column", static_cast<int64_t>(e.pos.column));
  return o;
}

net::HttpReply rule_error_reply(const RuleError& e) {
  if (e.code == RuleErrc::Sql) return error_reply(400, e.message, sql_position(e.sql));
  return error_reply(status_for(e.code), e.message);
}

Value counters_value(const rules::RuleCounters& c) {
  ValueObject o;
  o.emplace_back("records_in", static_cast<int64_t>(c.records_in));
  o.emplace_back("records_out", static_cast<int64_t>(c.records_out));
  o.emplace_back("filtered", static_cast<int64_t>(c.filtered));
  // Events that produced nothing because of bad input or lateness (not WHERE).
  o.emplace_back("dropped", static_cast<int64_t>(c.decode_errors + c.eval_errors + c.late));
  ValueObject errors;
  errors.emplace_back("decode", static_cast<int64_t>(c.decode_errors));
  errors.emplace_back("eval", static_cast<int64_t>(c.eval_errors));
  o.emplace_back("errors", std::move(errors));
  o.emplace_back("late", static_cast<int64_t>(c.late));
  o.emplace_back("evicted", static_cast<int64_t>(c.evicted));
  if (!c.last_error.empty()) o.emplace_back("last_error", c.last_error);
  return Value(std::move(o));
}

// The summary used in lists and in lifecycle replies.
ValueObject summary(const rules::RuleStatus& s) {
  ValueObject o;
  o.emplace_back("id", s.id);
  o.emplace_back("state", std::string(rules::rule_state_name(s.state)));
  if (!s.error.empty()) o.emplace_back("error", s.error);
  o.emplace_back("from_config", s.from_config);
  return o;
}

Value status_value(const rules::RuleStatus& s) {
  ValueObject o = summary(s);
  o.emplace_back("sql", s.sql);
  o.emplace_back("counters", counters_value(s.counters));
  ValueObject lat;
  lat.emplace_back("count", static_cast<int64_t>(s.latency_count));
  lat.emplace_back("p50", s.latency_p50_us);
  lat.emplace_back("p99", s.latency_p99_us);
  lat.emplace_back("max", s.latency_max_us);
  o.emplace_back("latency_us", std::move(lat));
  ValueArray actions;
  for (const auto& a : s.actions) {
    ValueObject ao;
    ao.emplace_back("kind", a.kind);
    ao.emplace_back("sent", static_cast<int64_t>(a.counters.sent));
    ao.emplace_back("failed", static_cast<int64_t>(a.counters.failed));
    ao.emplace_back("retried", static_cast<int64_t>(a.counters.retried));
    ao.emplace_back("dropped", static_cast<int64_t>(a.counters.dropped));
    if (!a.counters.last_error.empty()) ao.emplace_back("last_error", a.counters.last_error);
    actions.emplace_back(std::move(ao));
  }
  o.emplace_back("actions", std::move(actions));
  o.emplace_back("state_bytes", static_cast<int64_t>(s.state_bytes));
  return Value(std::move(o));
}

net::HttpReply list_rules(rules::RuleManager& m) {
  ValueArray arr;
  for (const auto& s : m.list()) {
    ValueObject o = summary(s);
    o.emplace_back("sql", s.sql);
    o.emplace_back("records_in", static_cast<int64_t>(s.counters.records_in));
    o.emplace_back("records_out", static_cast<int64_t>(s.counters.records_out));
    arr.emplace_back(std::move(o));
  }
  ValueObject o;
  o.emplace_back("rules", std::move(arr));
  return json_reply(200, Value(std::move(o)));
}

// Reads a rule spec from the body; `path_id` (PUT) must match the body's id when it has one.
std::optional<net::HttpReply> read_spec(const net::HttpRequest& req, std::string_view path_id,
                                        rules::RuleSpec& spec) {
  Value body;
  if (auto bad = parse_body_object(req, body)) return bad;
  // What GET returns can be edited and sent back: its read-only members are ignored.
  ValueObject o;
  for (const auto& m : body.as_object()) {
    if (m.first != "from_config" && m.first != "state" && m.first != "error") o.push_back(m);
  }
  if (!path_id.empty() && body.find("id") == nullptr)
    o.insert(o.begin(), {"id", std::string(path_id)});
  body = Value(std::move(o));
  auto parsed = rules::RuleSpec::from_value(body);
  if (!parsed) return error_reply(400, parsed.error().message);
  if (!path_id.empty() && parsed->id != path_id) {
    return error_reply(
        400, "id: the body names '" + parsed->id + "', the path '" + std::string(path_id) + "'");
  }
  spec = std::move(*parsed);
  return std::nullopt;
}

net::HttpReply rule_detail(rules::RuleManager& m, std::string_view id) {
  auto spec = m.spec(id);
  if (!spec) return rule_error_reply(spec.error());
  auto st = m.status(id);
  if (!st) return rule_error_reply(st.error());
  Value v = spec->to_value();
  ValueObject o = v.as_object();
  o.emplace_back("from_config", spec->from_config);
  o.emplace_back("state", std::string(rules::rule_state_name(st->state)));
  if (!st->error.empty()) o.emplace_back("error", st->error);
  return json_reply(200, Value(std::move(o)));
}

net::HttpReply validate(const net::HttpRequest& req, rules::RuleManager& m) {
  if (req.method != "POST") return method_not_allowed("POST");
  Value body;
  if (auto bad = parse_body_object(req, body)) return *bad;
  const Value* sql = body.find("sql");
  if (sql == nullptr || !sql->is_string()) return error_reply(400, "sql: expected a string");
  auto r = m.validate(sql->as_string());
  ValueObject o;
  o.emplace_back("valid", r.has_value());
  if (!r) {
    o.emplace_back("error", r.error().message);
    for (auto& p : sql_position(r.error())) o.push_back(std::move(p));
  }
  // 200 either way: the request was understood; the answer is in "valid".
  return json_reply(200, Value(std::move(o)));
}

std::string rule_location(std::string_view id) { return "/api/v1/rules/" + std::string(id); }

net::HttpReply rules_route(const net::HttpRequest& req, const std::vector<std::string_view>& seg,
                           rules::RuleManager& m) {
  // seg: "api", "v1", "rules", ...
  if (seg.size() == 3) {
    if (req.method == "GET") return list_rules(m);
    if (req.method != "POST") return method_not_allowed("GET, POST");
    rules::RuleSpec spec;
    if (auto bad = read_spec(req, {}, spec)) return *bad;
    auto r = m.create(spec);
    if (!r) return rule_error_reply(r.error());
    net::HttpReply reply = json_reply(201, status_value(*r));
    reply.headers.emplace_back("Location", rule_location(spec.id));
    return reply;
  }
  const std::string_view id = seg[3];
  if (seg.size() == 4 && id == "validate") return validate(req, m);
  if (!rules::rule_id_valid(id)) return error_reply(404, "no rule '" + std::string(id) + "'");
  if (seg.size() == 4) {
    if (req.method == "GET") return rule_detail(m, id);
    if (req.method == "PUT") {
      rules::RuleSpec spec;
      if (auto bad = read_spec(req, id, spec)) return *bad;
      auto r = m.update(spec);
      if (!r) return rule_error_reply(r.error());
      return json_reply(200, status_value(*r));
    }
    if (req.method == "DELETE") {
      auto r = m.remove(id);
      if (!r) return rule_error_reply(r.error());
      return net::HttpReply{204, "", ""};
    }
    return method_not_allowed("GET, PUT, DELETE");
  }
  if (seg.size() != 5) return error_reply(404, "not found");
  const std::string_view verb = seg[4];
  if (verb == "status") {
    if (req.method != "GET") return method_not_allowed("GET");
    auto st = m.status(id);
    if (!st) return rule_error_reply(st.error());
    return json_reply(200, status_value(*st));
  }
  if (verb != "start" && verb != "stop" && verb != "restart") return error_reply(404, "not found");
  if (req.method != "POST") return method_not_allowed("POST");
  auto r = verb == "start" ? m.start(id) : verb == "stop" ? m.stop(id) : m.restart(id);
  if (!r) return rule_error_reply(r.error());
  auto st = m.status(id);
  if (!st) return rule_error_reply(st.error());
  return json_reply(200, Value(summary(*st)));
}

Value stream_value(const rules::StreamDef& d) {
  ValueObject o;
  o.emplace_back("name", d.name);
  o.emplace_back("kind", d.is_table ? "table" : "stream");
  o.emplace_back("topic_filter", d.topic_filter);
  o.emplace_back("sql", d.sql);
  ValueArray cols;
  for (const auto& c : d.columns) cols.emplace_back(c.name);
  o.emplace_back("columns", std::move(cols));
  if (!d.timestamp_field.empty()) o.emplace_back("timestamp", d.timestamp_field);
  if (!d.key.empty()) o.emplace_back("key", d.key);
  return Value(std::move(o));
}

net::HttpReply streams_route(const net::HttpRequest& req, const std::vector<std::string_view>& seg,
                             rules::RuleManager& m) {
  if (seg.size() == 3) {
    if (req.method == "GET") {
      ValueArray arr;
      for (const auto& d : m.streams()) arr.push_back(stream_value(d));
      ValueObject o;
      o.emplace_back("streams", std::move(arr));
      return json_reply(200, Value(std::move(o)));
    }
    if (req.method != "POST") return method_not_allowed("GET, POST");
    Value body;
    if (auto bad = parse_body_object(req, body)) return *bad;
    const Value* sql = body.find("sql");
    if (sql == nullptr || !sql->is_string()) return error_reply(400, "sql: expected a string");
    auto r = m.define_stream(sql->as_string());
    if (!r) return rule_error_reply(r.error());
    // The name as the parser read it, from the catalog.
    for (const auto& d : m.streams()) {
      if (d.sql != sql->as_string()) continue;
      net::HttpReply reply = json_reply(201, stream_value(d));
      reply.headers.emplace_back("Location", "/api/v1/streams/" + d.name);
      return reply;
    }
    return error_reply(500, "stream defined but not listed");
  }
  if (seg.size() != 4) return error_reply(404, "not found");
  const std::string_view name = seg[3];
  if (req.method == "GET") {
    for (const auto& d : m.streams()) {
      if (d.name == name) return json_reply(200, stream_value(d));
    }
    return error_reply(404, "no stream '" + std::string(name) + "'");
  }
  if (req.method == "DELETE") {
    auto r = m.drop_stream(name);
    if (!r) return rule_error_reply(r.error());
    return net::HttpReply{204, "", ""};
  }
  return method_not_allowed("GET, DELETE");
}

}  // namespace

bool is_rules_path(std::string_view path) {
  for (std::string_view root : {"/api/v1/rules", "/api/v1/streams", "/api/v1/alarms"}) {
    if (path.starts_with(root) && (path.size() == root.size() || path[root.size()] == '/')) {
      return true;
    }
  }
  return false;
}

std::optional<net::HttpReply> handle_rules_request(const net::HttpRequest& req,
                                                   rules::RuleManager& manager,
                                                   rules::AlarmService* alarms) {
  const std::string_view path = req.path();
  if (!is_rules_path(path)) return std::nullopt;
  const std::vector<std::string_view> seg = path_segments(path);
  if (seg[2] == "rules") return rules_route(req, seg, manager);
  if (seg[2] == "streams") return streams_route(req, seg, manager);
  return handle_alarms_request(req, seg, alarms);
}

}  // namespace verge::api
