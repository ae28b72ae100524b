// Hub API: the uplink streams a node has sent, their records, and the alarms nodes report.
#include <string>

#include "api/api_reply.h"
#include "api/hub_api_routes.h"
#include "sync/topics.h"

namespace verge::api::hub {

namespace {

constexpr uint64_t kDefaultLimit = 1000;
constexpr uint64_t kMaxLimit = 10000;

// A payload that is JSON is shown as JSON; anything else (line protocol, binary) as a string.
Value payload_value(const std::string& payload) {
  auto v = parse_json(payload);
  if (v) return std::move(*v);
  return Value(payload);
}

net::HttpReply records(const HubCall& c, const std::string& node, const std::string& stream) {
  if (c.req.method != "GET") return method_not_allowed("GET");
  auto q = query_params(c.req.query());
  if (!q) return error_reply(400, "bad percent-encoding in the query");
  for (const auto& [k, v] : *q) {
    if (k != "from_seq" && k != "from" && k != "to" && k != "limit") {
      return error_reply(400, k + ": unknown parameter (from_seq, from, to, limit)");
    }
  }
  sync::RecordQuery rq;
  rq.node = node;
  rq.stream = stream;
  uint64_t limit = kDefaultLimit;
  if (auto bad = query_u64(*q, "from_seq", rq.from_seq)) return *bad;
  if (auto bad = query_i64(*q, "from", rq.from_ms)) return *bad;
  if (auto bad = query_i64(*q, "to", rq.to_ms)) return *bad;
  if (auto bad = query_u64(*q, "limit", limit)) return *bad;
  if (limit == 0 || limit > kMaxLimit) return error_reply(400, "limit: expected 1..10000");
  rq.limit = limit;
  auto rows = c.hub.ingest().query(rq);
  if (!rows) return error_reply(500, "records: " + rows.error().message);
  ValueArray out;
  uint64_t next = rq.from_seq;
  for (const auto& r : *rows) {
    ValueObject o;
    o.emplace_back("seq", static_cast<int64_t>(r.seq));
    o.emplace_back("ts_ms", r.ts_ms);
    o.emplace_back("payload", payload_value(r.payload));
    out.emplace_back(std::move(o));
    next = r.seq + 1;
  }
  ValueObject o;
  o.emplace_back("node", node);
  o.emplace_back("stream", stream);
  o.emplace_back("records", std::move(out));
  // Where the next page starts (from_seq); equal to the request's when nothing more was found.
  o.emplace_back("next_seq", static_cast<int64_t>(next));
  return json_reply(200, Value(std::move(o)));
}

}  // namespace

net::HttpReply route_streams(const HubCall& c) {
  const std::string& node = c.seg[1];
  if (!c.hub.registry().node(node)) return error_reply(404, "no node '" + node + "'");
  if (c.seg.size() == 3) {
    if (c.req.method != "GET") return method_not_allowed("GET");
    ValueArray out;
    for (const auto& [stream, next] : c.hub.ingest().streams(node)) {
      ValueObject o;
      o.emplace_back("stream", stream);
      o.emplace_back("next_seq", static_cast<int64_t>(next));
      out.emplace_back(std::move(o));
    }
    ValueObject o;
    o.emplace_back("node", node);
    o.emplace_back("streams", std::move(out));
    return json_reply(200, Value(std::move(o)));
  }
  if (c.seg.size() != 5 || c.seg[4] != "records") return error_reply(404, "not found");
  if (!sync::topics::valid_name(c.seg[3])) {
    return error_reply(400, "stream: expected 1-64 characters of A-Z a-z 0-9 _ -");
  }
  return records(c, node, c.seg[3]);
}

net::HttpReply route_alarms(const HubCall& c) {
  if (c.seg.size() != 1) return error_reply(404, "not found");
  if (c.req.method != "GET") return method_not_allowed("GET");
  auto q = query_params(c.req.query());
  if (!q) return error_reply(400, "bad percent-encoding in the query");
  std::string node;
  for (const auto& [k, v] : *q) {
    if (k != "node") return error_reply(400, k + ": unknown parameter (node)");
    node = v;
  }
  ValueArray out;
  for (const auto& a : c.hub.registry().alarms(node)) {
    ValueObject o;
    o.emplace_back("node", a.node);
    o.emplace_back("key", a.key);
    o.emplace_back("updated_ms", a.updated_ms);
    o.emplace_back("alarm", a.doc);
    out.emplace_back(std::move(o));
  }
  ValueObject o;
  o.emplace_back("alarms", std::move(out));
  return json_reply(200, Value(std::move(o)));
}

}  // namespace verge::api::hub
