#include "core/config.h"

#include "core/duration.h"
#include "core/file.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <limits>
#include <set>

namespace verge {
namespace {

Unexpected<Error> fail(std::string msg) { return unexpected(Error{std::move(msg)}); }

std::string quoted(std::string_view v) { return "'" + std::string(v) + "'"; }

std::string lower(std::string_view v) {
  std::string out(v);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<uint64_t> parse_uint(std::string_view v) {
  if (v.empty() || v.size() > 20) return std::nullopt;
  uint64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
  return out;
}

std::optional<bool> parse_bool(std::string_view v) {
  std::string l = lower(v);
  if (l == "true" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

bool is_ipv4(const std::string& h) {
  in_addr a{};
  return ::inet_pton(AF_INET, h.c_str(), &a) == 1;
}
bool is_ipv6(const std::string& h) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, h.c_str(), &a) == 1;
}

using Setter = Result<void> (*)(std::string_view key, std::string_view value, EdgeConfig& cfg);

template <class T, uint64_t Min, uint64_t Max>
Result<void> set_uint(std::string_view key, std::string_view value, T& field) {
  static_assert(Max <= std::numeric_limits<T>::max());
  auto n = parse_uint(value);
  if (!n || *n < Min || *n > Max) {
    return fail(std::string(key) + ": expected an integer " + std::to_string(Min) + ".." +
                std::to_string(Max) + ", got " + quoted(value));
  }
  field = static_cast<T>(*n);
  return {};
}

// "30d", "12h", "90m", "3600s", or "0"/"off" for none; whole units, up to 100 years.
Result<void> set_duration(std::string_view key, std::string_view value, int64_t& field_ms) {
  if (value == "0" || lower(value) == "off") {
    field_ms = 0;
    return {};
  }
  static constexpr std::pair<char, uint64_t> kUnits[] = {
      {'s', 1000}, {'m', 60'000}, {'h', 3'600'000}, {'d', 86'400'000}};
  for (auto [unit, scale] : kUnits) {
    if (value.size() < 2 || value.back() != unit) continue;
    auto n = parse_uint(value.substr(0, value.size() - 1));
    if (n && *n > 0 && *n * scale <= 36500ull * 86'400'000) {
      field_ms = static_cast<int64_t>(*n * scale);
      return {};
    }
  }
  return fail(std::string(key) +
              ": expected a duration like 30d, 12h, 90m or 3600s (or off), got " + quoted(value));
}

Result<void> set_bool(std::string_view key, std::string_view value, bool& field) {
  auto b = parse_bool(value);
  if (!b) return fail(std::string(key) + ": expected true or false, got " + quoted(value));
  field = *b;
  return {};
}

Result<void> set_listen(std::string_view key, std::string_view value,
                        std::optional<ListenAddress>& field) {
  auto a = parse_listen_address(value);
  if (!a) return fail(std::string(key) + ": " + a.error().message);
  field = *a;
  return {};
}

Result<void> set_path(std::string_view key, std::string_view value, std::string& field,
                      bool allow_empty) {
  if (!allow_empty && value.empty()) return fail(std::string(key) + ": expected a path, got ''");
  if (value.find('\0') != std::string_view::npos) {
    return fail(std::string(key) + ": path contains a NUL byte");
  }
  field = std::string(value);
  return {};
}

struct Setting {
  std::string_view key;
  std::string_view help;
  Setter set;
};

// NOLINTBEGIN(bugprone-easily-swappable-parameters)
const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {"mqtt-listen", "MQTT over TCP listener: HOST:PORT, [V6]:PORT, :PORT or off",
       [](auto k, auto v, EdgeConfig& c) { return set_listen(k, v, c.mqtt_listen); }},
      {"mqtts-listen", "MQTT over TLS listener (needs tls-cert and tls-key), or off",
       [](auto k, auto v, EdgeConfig& c) { return set_listen(k, v, c.mqtts_listen); }},
      {"ws-listen", "MQTT over WebSocket listener, or off",
       [](auto k, auto v, EdgeConfig& c) { return set_listen(k, v, c.ws_listen); }},
      {"wss-listen", "MQTT over secure WebSocket listener, or off",
       [](auto k, auto v, EdgeConfig& c) { return set_listen(k, v, c.wss_listen); }},
      {"http-listen", "HTTP listener for /metrics and /healthz, or off",
       [](auto k, auto v, EdgeConfig& c) { return set_listen(k, v, c.http_listen); }},
      {"coap-listen", "CoAP listener (UDP) for devices that push readings, or off",
       [](auto k, auto v, EdgeConfig& c) { return set_listen(k, v, c.coap_listen); }},
      {"data-dir", "directory for persistent state",
       [](auto k, auto v, EdgeConfig& c) { return set_path(k, v, c.data_dir, false); }},
      {"persistence", "keep MQTT sessions and retained messages across restarts (true/false)",
       [](auto k, auto v, EdgeConfig& c) { return set_bool(k, v, c.persistence); }},
      {"durability", "when an acknowledged message is safe: batch (fsync), interval or none",
       [](auto k, auto v, EdgeConfig& c) -> Result<void> {
         const std::string l = lower(v);
         if (l == "batch") {
           c.durability = JournalDurability::Batch;
         } else if (l == "interval") {
           c.durability = JournalDurability::Interval;
         } else if (l == "none") {
           c.durability = JournalDurability::None;
         } else {
           return fail(std::string(k) + ": expected batch, interval or none, got " + quoted(v));
         }
         return {};
       }},
      {"tsdb-retention", "time-series points older than this are deleted, e.g. 90d (off: keep)",
       [](auto k, auto v, EdgeConfig& c) { return set_duration(k, v, c.tsdb_retention_ms); }},
      {"tsdb-downsample-after",
       "time-series points older than this are kept as 1-minute avg/min/max rollups (off: never)",
       [](auto k, auto v, EdgeConfig& c) {
         return set_duration(k, v, c.tsdb_downsample_after_ms);
       }},
      {"log-level", "trace, debug, info, warn, error or off",
       [](auto k, auto v, EdgeConfig& c) -> Result<void> {
         auto l = parse_log_level(lower(v));
         if (!l) {
           return fail(std::string(k) +
                       ": expected one of trace, debug, info, warn, error, off, got " + quoted(v));
         }
         c.log_level = *l;
         return {};
       }},
      {"hub", "edge: the hub's TLS listener HOST:PORT to enrol with and sync to (off: standalone)",
       [](auto k, auto v, EdgeConfig& c) -> Result<void> {
         if (v.empty() || lower(v) == "off") {
           c.sync.hub.clear();
           return {};
         }
         const size_t colon = v.rfind(':');
         const auto port =
             colon == std::string_view::npos ? std::nullopt : parse_uint(v.substr(colon + 1));
         if (colon == 0 || !port || *port == 0 || *port > 65535) {
           return fail(std::string(k) + ": expected HOST:PORT, got " + quoted(v));
         }
         c.sync.hub = std::string(v);
         return {};
       }},
      {"token", "edge: one-time enrolment token from 'verge ctl node create'",
       [](auto, auto v, EdgeConfig& c) -> Result<void> {
         c.sync.token = std::string(v);
         return {};
       }},
      {"uplink-samples", "edge: send every device reading up to the hub (stream samples)",
       [](auto k, auto v, EdgeConfig& c) { return set_bool(k, v, c.sync.uplink_samples); }},
      {"uplink-alarms", "edge: send alarm changes up to the hub (stream alarms)",
       [](auto k, auto v, EdgeConfig& c) { return set_bool(k, v, c.sync.uplink_alarms); }},
      {"heartbeat", "edge: interval of status reports to the hub, e.g. 10s",
       [](auto k, auto v, EdgeConfig& c) -> Result<void> {
         auto ms = parse_duration_ms(v);
         if (!ms || *ms < 100) {
           return fail(std::string(k) + ": expected a duration of at least 100ms, got " +
                       quoted(v));
         }
         c.sync.heartbeat_ms = *ms;
         return {};
       }},
      {"storage", "hub: embedded (SQLite, time-series store, segment log) or postgres://URL",
       [](auto k, auto v, EdgeConfig& c) -> Result<void> {
         if (v.empty() || lower(v) == "embedded") {
           c.sync.storage.clear();
         } else if (v.starts_with("postgres://") || v.starts_with("postgresql://")) {
           c.sync.storage = std::string(v);
         } else {
           return fail(std::string(k) + ": expected embedded or postgres://..., got " + quoted(v));
         }
         return {};
       }},
      {"server-names", "hub: comma-separated DNS names and addresses for its TLS certificate",
       [](auto, auto v, EdgeConfig& c) -> Result<void> {
         c.sync.server_names.clear();
         std::string_view rest = v;
         while (!rest.empty()) {
           const size_t comma = rest.find(',');
           std::string_view part = rest.substr(0, comma);
           if (!part.empty()) c.sync.server_names.emplace_back(part);
           if (comma == std::string_view::npos) break;
           rest.remove_prefix(comma + 1);
         }
         return {};
       }},
      {"admin-token-file", "hub: also write the first admin token to this file (mode 0600)",
       [](auto k, auto v, EdgeConfig& c) { return set_path(k, v, c.sync.admin_token_file, true); }},
      {"tls-cert", "PEM server certificate chain",
       [](auto k, auto v, EdgeConfig& c) { return set_path(k, v, c.tls.cert_file, true); }},
      {"tls-key", "PEM private key",
       [](auto k, auto v, EdgeConfig& c) { return set_path(k, v, c.tls.key_file, true); }},
      {"tls-ca", "PEM CA certificates that sign client certificates",
       [](auto k, auto v, EdgeConfig& c) { return set_path(k, v, c.tls.ca_file, true); }},
      {"tls-require-client-cert", "require a client certificate on TLS listeners (true/false)",
       [](auto k, auto v, EdgeConfig& c) { return set_bool(k, v, c.tls.require_client_cert); }},
      {"tls-cert-identity", "use the client certificate CN as the username (true/false)",
       [](auto k, auto v, EdgeConfig& c) { return set_bool(k, v, c.tls.identity_from_cert); }},
      {"allow-anonymous",
       "accept clients without credentials (default: only on loopback listeners)",
       [](auto k, auto v, EdgeConfig& c) -> Result<void> {
         bool b = false;
         auto r = set_bool(k, v, b);
         if (!r) return r;
         c.allow_anonymous = b;
         return {};
       }},
      {"password-file", "password file written by 'verge passwd'",
       [](auto k, auto v, EdgeConfig& c) { return set_path(k, v, c.password_file, true); }},
      {"acl-file", "access control list file",
       [](auto k, auto v, EdgeConfig& c) { return set_path(k, v, c.acl_file, true); }},
      {"threads", "event loop threads, 0 = one per core",
       [](auto k, auto v, EdgeConfig& c) { return set_uint<unsigned, 0, 1024>(k, v, c.threads); }},
      {"max-connections", "maximum concurrent client connections",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint32_t, 1, 10000000>(k, v, c.limits.max_connections);
       }},
      {"max-inflight", "Receive Maximum: unacknowledged QoS 1/2 messages per direction",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint16_t, 1, 65535>(k, v, c.limits.max_inflight);
       }},
      {"max-queued-messages", "messages queued per offline or slow session (oldest dropped)",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint32_t, 0, 100000000>(k, v, c.limits.max_queued_messages);
       }},
      {"max-packet-size", "maximum MQTT packet size in bytes, both directions",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint32_t, 16, 268435455>(k, v, c.limits.max_packet_size);
       }},
      {"max-outbound-bytes", "unsent bytes per connection before QoS 0 messages are dropped",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint32_t, 1024, 1073741824>(k, v, c.limits.max_outbound_bytes);
       }},
      {"max-connect-rate", "new connections per second per listener, 0 = unlimited",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint32_t, 0, 10000000>(k, v, c.limits.max_connect_rate);
       }},
      {"max-publish-rate", "PUBLISH packets per second per client, 0 = unlimited",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint32_t, 0, 10000000>(k, v, c.limits.max_publish_rate);
       }},
      {"max-topic-alias", "Topic Alias Maximum announced to MQTT 5 clients",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint16_t, 0, 65535>(k, v, c.limits.max_topic_alias);
       }},
      {"max-session-expiry", "cap on the session expiry interval clients ask for, seconds",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint32_t, 0, 4294967295>(k, v, c.limits.max_session_expiry);
       }},
      {"max-keepalive", "cap on the client keep alive, seconds",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint16_t, 0, 65535>(k, v, c.limits.max_keepalive);
       }},
      {"sys-interval", "seconds between $SYS topic updates, 0 = off",
       [](auto k, auto v, EdgeConfig& c) {
         return set_uint<uint32_t, 0, 86400>(k, v, c.limits.sys_interval);
       }},
  };
  return table;
}
// NOLINTEND(bugprone-easily-swappable-parameters)

std::string at(std::string_view name, const YAML::Mark& mark) {
  std::string out(name);
  if (mark.line >= 0) out += ":" + std::to_string(mark.line + 1);
  return out + ": ";
}

// A YAML node as a Value. Plain scalars read as null, bool, int or float when they look like one;
// quoted scalars stay strings.
Value yaml_to_value(const YAML::Node& n) {
  if (n.IsSequence()) {
    ValueArray a;
    for (const auto& e : n) a.push_back(yaml_to_value(e));
    return a;
  }
  if (n.IsMap()) {
    ValueObject o;
    for (const auto& kv : n) o.emplace_back(kv.first.Scalar(), yaml_to_value(kv.second));
    return o;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return i;
  double d = 0;
  auto [pd, ecd] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ecd == std::errc() && pd == s.data() + s.size()) return d;
  return s;
}

// `streams:`, `rules:`, `profiles:` and `devices:` (structured keys, YAML only).
Result<void> apply_structured(const std::string& key, const YAML::Node& v, std::string_view name,
                              EdgeConfig& next) {
  if (!v.IsSequence()) return fail(at(name, v.Mark()) + key + ": expected a list");
  size_t i = 0;
  for (const auto& e : v) {
    const std::string where = at(name, e.Mark()) + key + "[" + std::to_string(i++) + "]: ";
    if (key == "streams") {
      if (!e.IsScalar()) return fail(where + "expected a CREATE STREAM or CREATE TABLE statement");
      next.streams.push_back(e.Scalar());
    } else if (key == "rules") {
      if (!e.IsMap()) return fail(where + "expected a rule (a map with id, sql and actions)");
      next.rules.push_back(yaml_to_value(e));
    } else if (key == "profiles") {
      if (!e.IsMap()) return fail(where + "expected a profile (a map with name, protocol, points)");
      next.profiles.push_back(yaml_to_value(e));
    } else {
      if (!e.IsMap()) return fail(where + "expected a device (a map with id, profile, connection)");
      next.devices.push_back(yaml_to_value(e));
    }
  }
  return {};
}

Result<void> apply_yaml_node(const YAML::Node& doc, std::string_view name, EdgeConfig& cfg) {
  if (!doc.IsDefined() || doc.IsNull()) return {};  // empty file: nothing to set
  if (!doc.IsMap()) {
    return fail(at(name, doc.Mark()) + "expected a map of settings (key: value), e.g. " +
                "'mqtt-listen: 0.0.0.0:1883'");
  }
  EdgeConfig next = cfg;  // all or nothing
  std::set<std::string, std::less<>> seen;
  for (const auto& kv : doc) {
    const YAML::Node& k = kv.first;
    const YAML::Node& v = kv.second;
    if (!k.IsScalar()) return fail(at(name, k.Mark()) + "expected a setting name");
    const std::string& key = k.Scalar();
    if (!seen.insert(key).second) return fail(at(name, k.Mark()) + "duplicate key " + quoted(key));
    if (v.IsNull() || !v.IsDefined()) return fail(at(name, k.Mark()) + key + ": missing value");
    if (key == "streams" || key == "rules" || key == "profiles" || key == "devices") {
      if (auto r = apply_structured(key, v, name, next); !r) return r;
      continue;
    }
    if (!v.IsScalar()) {
      std::string msg = at(name, k.Mark()) + key + ": expected a single value";
      if (key.ends_with("-listen") && v.IsSequence()) {
        msg += " (quote IPv6 addresses: \"[::1]:1883\")";
      }
      return fail(msg);
    }
    auto r = apply_setting(key, v.Scalar(), next);
    if (!r) return fail(at(name, k.Mark()) + r.error().message);
  }
  cfg = std::move(next);
  return {};
}

// True when line `line` (0-based) of `text` looks like "xxx-listen: [..." (an unquoted IPv6
// address, which YAML reads as the start of a list).
bool line_has_unquoted_brackets(std::string_view text, int line) {
  if (line < 0) return false;
  size_t pos = 0;
  for (int i = 0; i < line && pos != std::string_view::npos; ++i) {
    pos = text.find('\n', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  if (pos == std::string_view::npos) return false;
  std::string_view l = text.substr(pos, text.find('\n', pos) - pos);
  auto colon = l.find("-listen:");
  return colon != std::string_view::npos && l.find('[', colon) != std::string_view::npos;
}

}  // namespace

Result<Value> parse_yaml_value(std::string_view text, std::string_view name) {
  try {
    return yaml_to_value(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    std::string where(name);
    if (e.mark.line >= 0) where += ":" + std::to_string(e.mark.line + 1);
    return fail(where + ": invalid YAML: " + e.msg);
  }
}

Result<std::optional<ListenAddress>> parse_listen_address(std::string_view text) {
  auto bad = [&] {
    return fail("expected HOST:PORT, [IPV6]:PORT, :PORT or off, got " + quoted(text));
  };
  if (text == "off") return std::optional<ListenAddress>{};
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad();
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    if (!is_ipv6(host)) return fail("not an IPv6 address: " + quoted(host));
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return fail("IPv6 addresses need brackets, e.g. [::1]:1883, got " + quoted(text));
    }
    if (host.empty()) host = "0.0.0.0";
    if (host == "localhost") host = "127.0.0.1";
    if (!is_ipv4(host)) return fail("expected an IP address as HOST, got " + quoted(text));
  }
  auto port = parse_uint(port_text);
  if (!port || *port > 65535) return fail("expected a port 0..65535, got " + quoted(text));
  return std::optional<ListenAddress>{ListenAddress{host, static_cast<uint16_t>(*port)}};
}

std::string to_string(const ListenAddress& a) {
  if (a.host.find(':') != std::string::npos) {
    return "[" + a.host + "]:" + std::to_string(a.port);
  }
  return a.host + ":" + std::to_string(a.port);
}

const std::vector<SettingInfo>& edge_settings() {
  static const std::vector<SettingInfo> infos = [] {
    std::vector<SettingInfo> out;
    for (const auto& s : settings()) out.push_back({s.key, s.help});
    return out;
  }();
  return infos;
}

Result<void> apply_setting(std::string_view key, std::string_view value, EdgeConfig& cfg) {
  for (const auto& s : settings()) {
    if (s.key == key) return s.set(key, value, cfg);
  }
  return fail("unknown key " + quoted(key));
}

Result<void> apply_yaml_text(std::string_view text, std::string_view name, EdgeConfig& cfg) {
  try {
    YAML::Node doc = YAML::Load(std::string(text));
    return apply_yaml_node(doc, name, cfg);
  } catch (const YAML::Exception& e) {
    std::string msg = at(name, e.mark) + "invalid YAML: " + e.msg;
    if (line_has_unquoted_brackets(text, e.mark.line)) {
      msg += " (quote IPv6 addresses: \"[::1]:1883\")";
    }
    return fail(msg);
  } catch (const std::exception& e) {
    return fail(std::string(name) + ": " + e.what());
  }
}

Result<void> apply_yaml_file(const std::string& path, EdgeConfig& cfg) {
  auto text = read_text_file(path, "config file");
  if (!text) return fail(text.error().message);
  return apply_yaml_text(*text, path, cfg);
}

}  // namespace verge
