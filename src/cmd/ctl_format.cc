#include "cmd/ctl_format.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace verge::cmd::ctl {

namespace {

const Value& member(const Value& v, std::string_view key) {
  static const Value kNull;
  const Value* m = v.find(key);
  return m != nullptr ? *m : kNull;
}

std::string text(const Value& v, std::string_view key) { return format_scalar(member(v, key)); }

int64_t int_of(const Value& v, std::string_view key) {
  const Value& m = member(v, key);
  if (m.is_int()) return m.as_int();
  if (m.is_float()) return static_cast<int64_t>(m.as_float());
  return 0;
}

const ValueArray& array_of(const Value& v, std::string_view key) {
  static const ValueArray kEmpty;
  const Value& m = member(v, key);
  return m.is_array() ? m.as_array() : kEmpty;
}

std::string labels_text(const Value& labels) {
  if (!labels.is_object()) return "-";
  std::string out;
  for (const auto& [k, v] : labels.as_object())
    out += (out.empty() ? "" : ",") + k + "=" + format_scalar(v);
  return out.empty() ? "-" : out;
}

std::string time_text(const Value& v, std::string_view key, int64_t now_ms) {
  return format_ago(int_of(v, key), now_ms);
}

void pretty(const Value& v, std::string& out, int depth) {
  const std::string pad(static_cast<size_t>(depth + 1) * 2, ' ');
  const std::string close_pad(static_cast<size_t>(depth) * 2, ' ');
  if (v.is_object() && !v.as_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [k, m] : v.as_object()) {
      out += first ? "" : ",\n";
      first = false;
      out += pad + Value(k).to_json() + ": ";
      pretty(m, out, depth + 1);
    }
    out += "\n" + close_pad + "}";
  } else if (v.is_array() && !v.as_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const Value& m : v.as_array()) {
      out += first ? "" : ",\n";
      first = false;
      out += pad;
      pretty(m, out, depth + 1);
    }
    out += "\n" + close_pad + "]";
  } else {
    v.append_json(out);
  }
}

// A resource figure as the heartbeat has it: a number (percent) or an object of figures.
std::string resource_text(const Value& v) {
  if (v.is_null()) return "-";
  if (v.is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", *v.number());
    return buf;
  }
  if (!v.is_object()) return format_scalar(v);
  std::string out;
  for (const auto& [k, m] : v.as_object()) {
    std::string shown = format_scalar(m);
    if (m.is_number() && k.find("bytes") != std::string::npos) {
      shown = format_bytes(static_cast<int64_t>(*m.number()));
    }
    out += (out.empty() ? "" : " ") + k + "=" + shown;
  }
  return out.empty() ? "-" : out;
}

// The uplink streams of a heartbeat: a list of stream stats, or an object keyed by stream name.
std::vector<Value> uplink_streams(const Value& status) {
  std::vector<Value> out;
  for (std::string_view key : {"streams", "uplink", "backlog"}) {
    const Value& s = member(status, key);
    if (s.is_array()) {
      for (const Value& e : s.as_array()) out.push_back(e);
      return out;
    }
    if (s.is_object()) {
      for (const auto& [name, e] : s.as_object()) {
        if (!e.is_object()) continue;
        ValueObject o{{"stream", name}};
        for (const auto& m : e.as_object()) o.push_back(m);
        out.emplace_back(std::move(o));
      }
      return out;
    }
  }
  return out;
}

std::string rate_text(const Value& v) {
  auto r = v.number();
  if (!r) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f/s", *r);
  return buf;
}

std::string eta_text(const Value& stream) {
  auto eta = member(stream, "eta_s").number();
  if (!eta) return int_of(stream, "backlog_records") == 0 ? "-" : "not draining";
  return format_duration_ms(static_cast<int64_t>(std::llround(*eta * 1000)));
}

std::string node_list(const Value& body, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const Value& n : array_of(body, "nodes")) {
    rows.push_back({text(n, "id"), text(n, "state"), member(n, "online").is_true() ? "yes" : "no",
                    text(n, "site"), labels_text(member(n, "labels")), text(n, "version"),
                    text(n, "desired_version") + "/" + text(n, "applied_version"),
                    time_text(n, "last_seen_ms", now_ms)});
  }
  return format_table(
      {"ID", "STATE", "ONLINE", "SITE", "LABELS", "VERSION", "DESIRED/APPLIED", "LAST SEEN"}, rows);
}

std::string records(const Value& body) {
  std::vector<std::vector<std::string>> rows;
  for (const Value& r : array_of(body, "records")) {
    rows.push_back({text(r, "seq"), text(r, "ts_ms"),
                    member(r, "payload").is_string() ? member(r, "payload").as_string()
                                                     : member(r, "payload").to_json()});
  }
  std::string out = format_table({"SEQ", "TS_MS", "PAYLOAD"}, rows);
  if (!rows.empty()) out += "next: --from-seq " + text(body, "next_seq") + "\n";
  return out;
}

std::string alarms(const Value& body, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const Value& a : array_of(body, "alarms")) {
    const Value& doc = member(a, "alarm");
    const Value& active = member(doc, "active");
    const std::string state =
        active.is_bool() ? (active.as_bool() ? "active" : "cleared") : text(doc, "state");
    rows.push_back({text(a, "node"), text(a, "key"), state, text(doc, "severity"),
                    time_text(a, "updated_ms", now_ms), text(doc, "message")});
  }
  return format_table({"NODE", "KEY", "STATE", "SEVERITY", "UPDATED", "MESSAGE"}, rows);
}

std::string audit(const Value& body, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const Value& e : array_of(body, "entries")) {
    const Value& d = member(e, "detail");
    rows.push_back({text(e, "id"), time_text(e, "ts_ms", now_ms), text(e, "who"), text(e, "action"),
                    text(e, "target"), d.is_null() ? "-" : d.to_json()});
  }
  return format_table({"ID", "WHEN", "WHO", "ACTION", "TARGET", "DETAIL"}, rows);
}

std::string tokens(const Value& body, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const Value& t : array_of(body, "tokens")) {
    rows.push_back(
        {text(t, "id"), text(t, "name"), text(t, "role"), time_text(t, "created_ms", now_ms)});
  }
  return format_table({"ID", "NAME", "ROLE", "CREATED"}, rows);
}

std::string devices(const Value& body) {
  std::vector<std::vector<std::string>> rows;
  for (const Value& d : array_of(body, "devices")) {
    const Value& status = member(d, "status");
    rows.push_back({text(d, "id"), text(d, "profile"),
                    status.is_object() ? text(status, "state") : format_scalar(status)});
  }
  return format_table({"ID", "PROFILE", "STATUS"}, rows);
}

std::string desired_list(const Value& body, int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  for (const Value& d : array_of(body, "documents")) {
    std::string items;
    for (const auto& [kind, v] :
         member(d, "doc").is_object() ? member(d, "doc").as_object() : ValueObject{}) {
      if (v.is_object())
        items += (items.empty() ? "" : " ") + kind + "=" + std::to_string(v.as_object().size());
    }
    rows.push_back({text(member(d, "scope"), "key"), text(d, "revision"),
                    time_text(d, "updated_ms", now_ms), items.empty() ? "-" : items});
  }
  return format_table({"SCOPE", "REVISION", "UPDATED", "ITEMS"}, rows);
}

std::string desired_changed(const Value& body) {
  std::string nodes;
  for (const Value& n : array_of(body, "nodes"))
    nodes += (nodes.empty() ? "" : ", ") + format_scalar(n);
  std::string out = text(body, "scope");
  if (member(body, "revision").is_int()) out += " revision " + text(body, "revision");
  return out + "; nodes changed: " + (nodes.empty() ? "none" : nodes) + "\n";
}

}  // namespace

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      l += cell;
      if (i + 1 < width.size()) l += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

std::string format_duration_ms(int64_t ms) {
  if (ms < 0) ms = 0;
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "ms", ms);
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "s", ms / 1000);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "m%02" PRId64 "s", ms / 60'000, ms / 1000 % 60);
  } else if (ms < 86'400'000) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "h%02" PRId64 "m", ms / 3'600'000, ms / 60'000 % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRId64 "d%" PRId64 "h", ms / 86'400'000,
                  ms / 3'600'000 % 24);
  }
  return buf;
}

std::string format_ago(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "never";
  return format_duration_ms(now_ms - then_ms) + " ago";
}

std::string format_bytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

std::string format_scalar(const Value& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.as_string().empty() ? "-" : v.as_string();
  return v.to_json();
}

std::string pretty_json(const Value& v) {
  std::string out;
  pretty(v, out, 0);
  return out + "\n";
}

std::string format_node_status(const Value& n, int64_t now_ms) {
  const Value& status = member(n, "status");
  std::string out;
  auto row = [&out](std::string_view label, const std::string& value) {
    out += std::string(label) + std::string(label.size() < 16 ? 16 - label.size() : 1, ' ') +
           value + "\n";
  };
  row("node:", text(n, "id"));
  row("state:", text(n, "state") + (member(n, "online").is_true() ? ", online" : ", offline"));
  row("site:", text(n, "site"));
  row("labels:", labels_text(member(n, "labels")));
  row("last seen:", time_text(n, "last_seen_ms", now_ms));
  row("version:", text(status, "version"));
  if (member(status, "uptime_s").is_number()) {
    row("uptime:", format_duration_ms(int_of(status, "uptime_s") * 1000));
  }
  // The node's heartbeat (sync/edge_agent.cc): cpu_percent, rss_bytes, disk {total, free}.
  row("cpu:", resource_text(member(status, "cpu_percent")));
  row("memory:", member(status, "rss_bytes").is_number()
                     ? format_bytes(int_of(status, "rss_bytes")) + " resident"
                     : std::string("-"));
  const Value& disk = member(status, "disk");
  row("disk:", disk.is_object() && member(disk, "total_bytes").is_number()
                   ? format_bytes(int_of(disk, "free_bytes")) + " free of " +
                         format_bytes(int_of(disk, "total_bytes"))
                   : std::string("-"));
  if (int_of(n, "cert_not_after_ms") > 0) {
    row("cert expires:", "in " + format_duration_ms(int_of(n, "cert_not_after_ms") - now_ms));
  }
  const Value& report = member(n, "report");
  row("desired:",
      "version " + text(n, "desired_version") + ", applied " + text(n, "applied_version") +
          (int_of(n, "desired_version") != int_of(n, "applied_version") ? " (pending)" : ""));

  const auto streams = uplink_streams(status);
  out += "\nuplink backlog:\n";
  if (streams.empty()) {
    out += "  (no streams reported)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const Value& s : streams) {
      rows.push_back(
          {text(s, "stream"), text(s, "backlog_records"), format_bytes(int_of(s, "backlog_bytes")),
           int_of(s, "oldest_age_ms") > 0 ? format_duration_ms(int_of(s, "oldest_age_ms")) : "-",
           rate_text(member(s, "drain_rate")), eta_text(s)});
    }
    std::string table =
        format_table({"STREAM", "RECORDS", "BYTES", "OLDEST", "DRAIN", "ETA"}, rows);
    for (size_t start = 0; start < table.size();) {
      const size_t end = table.find('\n', start);
      out += "  " + table.substr(start, end - start + 1);
      start = end + 1;
    }
  }
  const ValueArray& failed = array_of(report, "failed");
  if (!failed.empty()) {
    out += "\nfailed items (version " + text(report, "version") + "):\n";
    for (const Value& f : failed) out += "  " + text(f, "item") + ": " + text(f, "error") + "\n";
  }
  return out;
}

std::string render_reply(Output output, const Value& body, int64_t now_ms) {
  switch (output) {
    case Output::NodeList:
      return node_list(body, now_ms);
    case Output::NodeCreated:
    case Output::NodeToken:
      return "enrolment token for node " + text(body, "id") + " (shown once; expires in " +
             format_duration_ms(int_of(body, "expires_at_ms") - now_ms) + "):\n" +
             text(body, "token") + "\n";
    case Output::NodeStatus:
      return format_node_status(body, now_ms);
    case Output::NodeSummary:
      return "node " + text(body, "id") + ": " + text(body, "state") + ", site " +
             text(body, "site") + ", labels " + labels_text(member(body, "labels")) + "\n";
    case Output::NodeDeleted:
      return "deleted\n";
    case Output::Devices:
      return devices(body);
    case Output::DesiredList:
      return desired_list(body, now_ms);
    case Output::DesiredChanged:
      return desired_changed(body);
    case Output::Records:
      return records(body);
    case Output::Alarms:
      return alarms(body, now_ms);
    case Output::TokenCreated:
      return "token " + text(body, "id") + " (" + text(body, "name") + ", " + text(body, "role") +
             "), shown once:\n" + text(body, "token") + "\n";
    case Output::TokenList:
      return tokens(body, now_ms);
    case Output::TokenDeleted:
      return "deleted\n";
    case Output::Audit:
      return audit(body, now_ms);
    case Output::Device:
    case Output::DesiredDoc:
    case Output::Pretty:
      return pretty_json(body);
  }
  return pretty_json(body);
}

}  // namespace verge::cmd::ctl
