#include "api/devices_api.h"

#include <string>

#include "api/api_reply.h"
#include "core/duration.h"

namespace verge::api {

namespace {

using devices::DeviceErrorCode;

// A DELETE that ran between the put and the read-back: the put happened, but nothing is there.
net::HttpReply deleted_meanwhile(const char* what, const std::string& name) {
  return error_reply(404, std::string(what) + " '" + name + "' was deleted meanwhile");
}

int status_for(DeviceErrorCode code) {
  switch (code) {
    case DeviceErrorCode::Invalid:
      return 400;
    case DeviceErrorCode::NotFound:
      return 404;
    case DeviceErrorCode::Conflict:
    case DeviceErrorCode::ReadOnly:
      return 409;
    case DeviceErrorCode::Internal:
      return 500;
  }
  return 500;
}

net::HttpReply device_error_reply(const devices::DeviceError& e) {
  return error_reply(status_for(e.code), e.message);
}

// The body as a document: what GET adds (from_config, status, protocol) is dropped, so a GET
// reply can be edited and sent back; `key` is taken from the path when the body has none.
std::optional<net::HttpReply> read_document(const net::HttpRequest& req, std::string_view key,
                                            std::string_view path_value, Value& doc) {
  Value body;
  if (auto bad = parse_body_object(req, body)) return bad;
  ValueObject o;
  for (const auto& m : body.as_object()) {
    if (m.first != "from_config" && m.first != "status") {
      if (m.first == "protocol" && key == "id") continue;  // a device's protocol is its profile's
      o.push_back(m);
    }
  }
  const Value* named = body.find(key);
  if (!path_value.empty()) {
    if (named == nullptr) {
      o.insert(o.begin(), {std::string(key), std::string(path_value)});
    } else if (!named->is_string() || named->as_string() != path_value) {
      return error_reply(400, std::string(key) + ": the body names " + named->to_json() +
                                  ", the path '" + std::string(path_value) + "'");
    }
  }
  doc = Value(std::move(o));
  return std::nullopt;
}

net::HttpReply profiles_route(const net::HttpRequest& req, const std::vector<std::string_view>& seg,
                              devices::DeviceManager& m) {
  if (seg.size() == 3) {
    if (req.method == "GET") {
      ValueObject o;
      o.emplace_back("profiles", m.list_profiles());
      return json_reply(200, Value(std::move(o)));
    }
    if (req.method != "POST") return method_not_allowed("GET, POST");
    Value doc;
    if (auto bad = read_document(req, "name", {}, doc)) return *bad;
    const Value* name = doc.find("name");
    if (name != nullptr && name->is_string() && m.profile(name->as_string())) {
      return error_reply(409, "profile '" + name->as_string() + "' exists (PUT replaces it)");
    }
    if (auto r = m.put_profile(doc, false); !r) return device_error_reply(r.error());
    auto put = m.profile(name->as_string());
    if (!put) return deleted_meanwhile("profile", name->as_string());
    net::HttpReply reply = json_reply(201, *put);
    reply.headers.emplace_back("Location", "/api/v1/profiles/" + name->as_string());
    return reply;
  }
  if (seg.size() != 4) return error_reply(404, "not found");
  const std::string name(seg[3]);
  if (req.method == "GET") {
    auto p = m.profile(name);
    if (!p) return error_reply(404, "no profile '" + name + "'");
    return json_reply(200, *p);
  }
  if (req.method == "PUT") {
    Value doc;
    if (auto bad = read_document(req, "name", name, doc)) return *bad;
    if (auto r = m.put_profile(doc, false); !r) return device_error_reply(r.error());
    auto put = m.profile(name);
    if (!put) return deleted_meanwhile("profile", name);
    return json_reply(200, *put);
  }
  if (req.method == "DELETE") {
    if (auto r = m.delete_profile(name); !r) return device_error_reply(r.error());
    return net::HttpReply{204, "", ""};
  }
  return method_not_allowed("GET, PUT, DELETE");
}

// Reads {"values": {...}, "ttl": ..., "wait": ...} or a bare {"point": value, ...}.
std::optional<net::HttpReply> read_desired(const net::HttpRequest& req, Value& values,
                                           int64_t& ttl_ms, int64_t& wait_ms) {
  Value body;
  if (auto bad = parse_body_object(req, body)) return bad;
  const Value* v = body.find("values");
  if (v == nullptr || !v->is_object()) {
    values = body;
    return std::nullopt;
  }
  for (const auto& [k, member] : body.as_object()) {
    if (k != "values" && k != "ttl" && k != "wait") {
      return error_reply(400, k + ": unknown key (values, ttl, wait)");
    }
  }
  values = *v;
  if (const Value* ttl = body.find("ttl"); ttl != nullptr && !ttl->is_null()) {
    auto ms = duration_ms_from_value(*ttl);
    if (!ms) return error_reply(400, "ttl: " + ms.error().message);
    ttl_ms = *ms;
  }
  if (const Value* wait = body.find("wait"); wait != nullptr && !wait->is_null()) {
    auto ms = duration_ms_from_value(*wait);
    if (!ms) return error_reply(400, "wait: " + ms.error().message);
    if (*ms > 300'000) return error_reply(400, "wait: at most 5m");
    wait_ms = *ms;
  }
  return std::nullopt;
}

net::HttpReply put_desired(const net::HttpRequest& req, const std::string& id,
                           devices::DeviceManager& m) {
  Value values;
  int64_t ttl_ms = 0;
  int64_t wait_ms = 5000;
  if (auto bad = read_desired(req, values, ttl_ms, wait_ms)) return *bad;
  return net::HttpReply::deferred([&m, id, values = std::move(values), ttl_ms,
                                   wait_ms](net::HttpResponder responder) {
    auto r = m.set_desired(id, values, ttl_ms, wait_ms, [responder, id, wait_ms](Value results) {
      ValueObject o;
      o.emplace_back("device", id);
      o.emplace_back("results", results);
      responder.reply(json_reply(desired_status(results, wait_ms > 0), Value(std::move(o))));
    });
    if (!r) responder.reply(device_error_reply(r.error()));
  });
}

net::HttpReply devices_route(const net::HttpRequest& req, const std::vector<std::string_view>& seg,
                             devices::DeviceManager& m) {
  if (seg.size() == 3) {
    if (req.method == "GET") {
      ValueObject o;
      o.emplace_back("devices", m.list_devices());
      return json_reply(200, Value(std::move(o)));
    }
    if (req.method != "POST") return method_not_allowed("GET, POST");
    Value doc;
    if (auto bad = read_document(req, "id", {}, doc)) return *bad;
    const Value* id = doc.find("id");
    if (id != nullptr && id->is_string() && m.device(id->as_string())) {
      return error_reply(409, "device '" + id->as_string() + "' exists (PUT replaces it)");
    }
    if (auto r = m.put_device(doc, false); !r) return device_error_reply(r.error());
    auto put = m.device(id->as_string());
    if (!put) return deleted_meanwhile("device", id->as_string());
    net::HttpReply reply = json_reply(201, *put);
    reply.headers.emplace_back("Location", "/api/v1/devices/" + id->as_string());
    return reply;
  }
  const std::string id(seg[3]);
  if (seg.size() == 4) {
    if (req.method == "GET") {
      auto d = m.device(id);
      if (!d) return error_reply(404, "no device '" + id + "'");
      return json_reply(200, *d);
    }
    if (req.method == "PUT") {
      Value doc;
      if (auto bad = read_document(req, "id", id, doc)) return *bad;
      if (auto r = m.put_device(doc, false); !r) return device_error_reply(r.error());
      auto put = m.device(id);
      if (!put) return deleted_meanwhile("device", id);
      return json_reply(200, *put);
    }
    if (req.method == "DELETE") {
      if (auto r = m.delete_device(id); !r) return device_error_reply(r.error());
      return net::HttpReply{204, "", ""};
    }
    return method_not_allowed("GET, PUT, DELETE");
  }
  if (seg.size() != 5) return error_reply(404, "not found");
  const std::string_view what = seg[4];
  if (what == "twin" || what == "commands") {
    if (req.method != "GET") return method_not_allowed("GET");
    auto doc = what == "twin" ? m.twin(id) : m.commands(id);
    if (!doc) return error_reply(404, "no device '" + id + "'");
    return json_reply(200, *doc);
  }
  if (what == "desired") {
    if (req.method != "PUT") return method_not_allowed("PUT");
    return put_desired(req, id, m);
  }
  return error_reply(404, "not found");
}

}  // namespace

bool is_devices_path(std::string_view path) {
  for (std::string_view root : {"/api/v1/profiles", "/api/v1/devices"}) {
    if (path == root ||
        (path.starts_with(root) && path.size() > root.size() && path[root.size()] == '/')) {
      return true;
    }
  }
  return false;
}

int desired_status(const Value& results, bool waited) {
  bool failed = false, late = false, queued = false;
  if (results.is_array()) {
    for (const auto& r : results.as_array()) {
      const Value* s = r.find("status");
      const std::string status = s != nullptr && s->is_string() ? s->as_string() : "";
      if (status == "failed") failed = true;
      if (status == "timeout" || status == "expired") late = true;
      if (status == "sent") (waited ? late : queued) = true;
      if (status == "queued" || status == "superseded") queued = true;
    }
  }
  if (failed) return 502;
  if (late) return 504;
  if (queued) return 202;
  return 200;
}

net::HttpReply handle_devices_request(const net::HttpRequest& req,
                                      devices::DeviceManager& manager) {
  const auto seg = path_segments(req.path());
  // seg: "api", "v1", "profiles" | "devices", ...
  if (seg.size() < 3) return error_reply(404, "not found");
  for (size_t i = 3; i < seg.size(); ++i) {
    if (seg[i].empty()) return error_reply(404, "not found");
  }
  if (seg[2] == "profiles") return profiles_route(req, seg, manager);
  return devices_route(req, seg, manager);
}

}  // namespace verge::api
