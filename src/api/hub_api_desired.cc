// Hub API: desired-state documents per node or label selector, and a node's effective document.
#include <string>

#include "api/api_reply.h"
#include "api/hub_api_routes.h"

namespace verge::api::hub {

namespace {

Value strings(const std::vector<std::string>& v) {
  ValueArray a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

Value scope_value(const sync::DesiredScope& s) {
  ValueObject o;
  o.emplace_back("kind", s.kind == sync::DesiredScope::Kind::Node ? "node" : "selector");
  o.emplace_back("value", s.value);
  o.emplace_back("key", s.key());
  return o;
}

Value doc_value(const sync::DesiredDoc& d) {
  ValueObject o;
  o.emplace_back("scope", scope_value(d.scope));
  o.emplace_back("revision", d.revision);
  o.emplace_back("updated_ms", d.updated_ms);
  o.emplace_back("doc", d.doc);
  return o;
}

// Item names per kind: what the audit log records of a document (specs may hold credentials).
Value item_names(const Value& doc) {
  ValueObject o;
  if (!doc.is_object()) return o;
  for (const auto& [kind, items] : doc.as_object()) {
    ValueArray names;
    if (items.is_object()) {
      for (const auto& item : items.as_object()) names.emplace_back(item.first);
    }
    o.emplace_back(kind, std::move(names));
  }
  return o;
}

std::optional<sync::DesiredDoc> find_doc(const HubCall& c, const sync::DesiredScope& scope) {
  const std::string key = scope.key();
  for (auto& d : c.hub.registry().desired_docs()) {
    if (d.scope.key() == key) return d;
  }
  return std::nullopt;
}

// The scope named by /desired/nodes/{id} or /desired/selectors/{selector}. A selector is
// written back in canonical form (keys sorted) so "b=1,a=2" and "a=2,b=1" are one scope.
std::optional<net::HttpReply> read_scope(const HubCall& c, sync::DesiredScope& scope) {
  const std::string& kind = c.seg[1];
  const std::string& value = c.seg[2];
  if (kind == "nodes") {
    scope.kind = sync::DesiredScope::Kind::Node;
    if (!c.hub.registry().node(value)) return error_reply(404, "no node '" + value + "'");
    scope.value = value;
    return std::nullopt;
  }
  if (kind != "selectors") return error_reply(404, "not found");
  auto sel = sync::parse_selector(value);
  if (!sel) return error_reply(400, "selector: " + sel.error().message);
  if (sel->empty()) return error_reply(400, "selector: empty (expected k=v[,k2=v2...])");
  scope.kind = sync::DesiredScope::Kind::Selector;
  scope.value.clear();
  for (const auto& [k, v] : *sel) {
    if (!scope.value.empty()) scope.value += ',';
    scope.value += k + "=" + v;
  }
  return std::nullopt;
}

net::HttpReply put_doc(const HubCall& c, const sync::DesiredScope& scope) {
  Value body;
  if (auto bad = parse_body_object(c.req, body)) return *bad;
  if (body.find("version") != nullptr) {
    return error_reply(400, "version: set by the hub, not by the document");
  }
  auto changed = c.hub.put_desired(scope, body);
  // Validation errors name the path ("devices.b1: expected an object"): all are the caller's.
  if (!changed) return error_reply(400, changed.error().message);
  const auto stored = find_doc(c, scope);
  const int64_t revision = stored ? stored->revision : 0;
  ValueObject detail;
  detail.emplace_back("revision", revision);
  detail.emplace_back("items", item_names(body));
  detail.emplace_back("nodes", strings(*changed));
  c.audit("desired.put", scope.key(), Value(std::move(detail)));
  ValueObject o;
  o.emplace_back("scope", scope.key());
  o.emplace_back("revision", revision);
  o.emplace_back("nodes", strings(*changed));
  return json_reply(200, Value(std::move(o)));
}

net::HttpReply delete_doc(const HubCall& c, const sync::DesiredScope& scope) {
  if (!find_doc(c, scope)) return error_reply(404, "no desired state for " + scope.key());
  auto changed = c.hub.delete_desired(scope);
  if (!changed) return op_error(changed.error());
  ValueObject detail;
  detail.emplace_back("nodes", strings(*changed));
  c.audit("desired.delete", scope.key(), Value(std::move(detail)));
  ValueObject o;
  o.emplace_back("scope", scope.key());
  o.emplace_back("nodes", strings(*changed));
  return json_reply(200, Value(std::move(o)));
}

}  // namespace

net::HttpReply route_desired(const HubCall& c) {
  if (c.seg.size() == 1) {
    if (c.req.method != "GET") return method_not_allowed("GET");
    ValueArray docs;
    for (const auto& d : c.hub.registry().desired_docs()) docs.push_back(doc_value(d));
    ValueObject o;
    o.emplace_back("documents", std::move(docs));
    return json_reply(200, Value(std::move(o)));
  }
  if (c.seg.size() != 3) return error_reply(404, "not found");
  sync::DesiredScope scope;
  if (auto bad = read_scope(c, scope)) return *bad;
  if (c.req.method == "GET") {
    auto d = find_doc(c, scope);
    if (!d) return error_reply(404, "no desired state for " + scope.key());
    return json_reply(200, doc_value(*d));
  }
  if (c.req.method == "PUT") return put_doc(c, scope);
  if (c.req.method == "DELETE") return delete_doc(c, scope);
  return method_not_allowed("GET, PUT, DELETE");
}

net::HttpReply route_node_desired(const HubCall& c) {
  if (c.seg.size() != 3) return error_reply(404, "not found");
  if (c.req.method != "GET") return method_not_allowed("GET");
  const std::string& id = c.seg[1];
  auto n = c.hub.registry().node(id);
  if (!n) return error_reply(404, "no node '" + id + "'");
  Value effective = c.hub.registry().effective_desired(id);
  const Value* version = effective.find("version");
  const Value* applied = n->report.find("version");
  ValueObject o;
  o.emplace_back("node", id);
  o.emplace_back("version", version != nullptr ? *version : Value(n->desired_version));
  o.emplace_back("applied_version", applied != nullptr ? *applied : Value());
  o.emplace_back("desired", std::move(effective));
  o.emplace_back("report", n->report);
  return json_reply(200, Value(std::move(o)));
}

}  // namespace verge::api::hub
