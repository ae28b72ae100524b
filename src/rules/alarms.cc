#include "rules/alarms.h"

#include <deque>
#include <map>

#include "core/log.h"
#include "rules/bus.h"
#include "store/metadata.h"

namespace verge::rules {

namespace {

constexpr int64_t kUpdateIntervalMs = 1000;  // dedup updates: written/published at most this often
constexpr size_t kMaxKeyBytes = 256;
constexpr std::string_view kColumns =
    "id, key, rule, severity, message, state, acked, acked_by, count, flapping, details, "
    "raised_at, updated_at, cleared_at, acked_at";

constexpr std::string_view kSeverityNames[] = {"critical", "major", "minor", "warning", "info"};

Result<void> check_key(std::string_view key) {
  if (key.empty()) return unexpected(Error{"alarm key is empty"});
  if (key.size() > kMaxKeyBytes) {
    return unexpected(Error{"alarm key is longer than " + std::to_string(kMaxKeyBytes) + " bytes"});
  }
  for (char c : key) {
    if (c == '+' || c == '#' || c == '\0') {
      return unexpected(Error{"alarm key '" + std::string(key) +
                              "' holds '+', '#' or NUL (it is part of a topic name)"});
    }
  }
  return {};
}

Alarm read_row(const store::Statement& st) {
  Alarm a;
  a.id = st.column_int(0);
  a.key = std::string(st.column_text(1));
  a.rule = std::string(st.column_text(2));
  a.severity = parse_severity(st.column_text(3)).value_or(Severity::Major);
  a.message = std::string(st.column_text(4));
  a.active = st.column_text(5) == "active";
  a.acked = st.column_int(6) != 0;
  if (!st.column_is_null(7)) a.acked_by = std::string(st.column_text(7));
  a.count = st.column_int(8);
  a.flapping = st.column_int(9) != 0;
  auto details = parse_json(st.column_text(10));
  a.details = details ? std::move(*details) : Value(std::string(st.column_text(10)));
  a.raised_at_ms = st.column_int(11);
  a.updated_at_ms = st.column_int(12);
  if (!st.column_is_null(13)) a.cleared_at_ms = st.column_int(13);
  if (!st.column_is_null(14)) a.acked_at_ms = st.column_int(14);
  return a;
}

}  // namespace

std::string_view severity_name(Severity s) {
  const auto i = static_cast<size_t>(s);
  return i < std::size(kSeverityNames) ? kSeverityNames[i] : "major";
}

std::optional<Severity> parse_severity(std::string_view s) {
  for (size_t i = 0; i < std::size(kSeverityNames); ++i) {
    if (kSeverityNames[i] == s) return static_cast<Severity>(i);
  }
  return std::nullopt;
}

Value Alarm::to_value() const {
  auto ms_or_null = [](int64_t ms) { return ms == 0 ? Value() : Value(ms); };
  ValueObject o;
  o.reserve(15);
  o.emplace_back("id", id);
  o.emplace_back("key", key);
  o.emplace_back("rule", rule);
  o.emplace_back("severity", severity_name(severity));
  o.emplace_back("message", message);
  o.emplace_back("active", active);
  o.emplace_back("acked", acked);
  o.emplace_back("acked_by", acked ? Value(acked_by) : Value());
  o.emplace_back("count", count);
  o.emplace_back("flapping", flapping);
  o.emplace_back("details", details);
  o.emplace_back("raised_at", raised_at_ms);
  o.emplace_back("updated_at", updated_at_ms);
  o.emplace_back("cleared_at", ms_or_null(cleared_at_ms));
  o.emplace_back("acked_at", ms_or_null(acked_at_ms));
  return Value(std::move(o));
}

struct AlarmService::Impl {
  struct Active {
    Alarm alarm;
    bool dirty = false;  // updates not yet written nor published
    int64_t written_at = 0;
  };
  struct Flap {
    std::deque<int64_t> transitions;  // times of raise/clear transitions within the window
    bool flapping = false;
    Alarm last;  // the state of the key's last transition, published when it becomes stable
  };

  store::MetadataStore& meta;
  Bus* bus;
  AlarmOptions options;

  mutable std::mutex mu;
  std::unique_ptr<store::Database> db;                // guarded by mu; opened by load()
  bool loaded = false;                                // guarded by mu
  std::map<std::string, Active, std::less<>> active;  // guarded by mu
  std::map<std::string, Flap, std::less<>> flaps;     // guarded by mu
  uint64_t raised = 0, cleared = 0;                   // guarded by mu

  Impl(store::MetadataStore& m, Bus* b, AlarmOptions o) : meta(m), bus(b), options(o) {}

  // The active alarms are kept in memory; they are read once, on first use, so a failing
  // store shows up as an error of the call instead of a half-initialised service.
  Result<void> load() {
    if (loaded) return {};
    if (!db) {
      // A connection of our own: the node's MetadataStore belongs to its owner's thread, and a
      // Database (its statement cache) must not be shared between threads. WAL lets both write.
      auto opened = store::Database::open(meta.path());
      if (!opened) return unexpected(opened.error());
      db = std::move(*opened);
    }
    auto st =
        db->prepare("SELECT " + std::string(kColumns) + " FROM alarms WHERE state = 'active'");
    if (!st) return unexpected(st.error());
    for (;;) {
      auto row = st->step();
      if (!row) return unexpected(row.error());
      if (!*row) break;
      Alarm a = read_row(*st);
      const std::string key = a.key;
      active[key] = Active{std::move(a), false, 0};
    }
    loaded = true;
    return {};
  }

  void publish(std::string_view event, const Alarm& a, bool retain = true) {
    if (bus == nullptr) return;
    std::string payload = "{\"event\":\"";
    payload += event;
    payload += "\",\"alarm\":";
    a.to_value().append_json(payload);
    payload += '}';
    bus->publish("verge/alarms/" + a.key, payload, 1, retain);
  }

  Result<void> insert(Alarm& a) {
    auto st = db->prepare(
        "INSERT INTO alarms (key, rule, severity, message, state, acked, count, flapping, "
        "details, raised_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'active', 0, ?5, ?6, ?7, ?8, ?9)");
    if (!st) return unexpected(st.error());
    const std::string details = a.details.to_json();
    if (auto r = st->bind_text(1, a.key); !r) return r;
    if (auto r = st->bind_text(2, a.rule); !r) return r;
    if (auto r = st->bind_text(3, severity_name(a.severity)); !r) return r;
    if (auto r = st->bind_text(4, a.message); !r) return r;
    if (auto r = st->bind_int(5, a.count); !r) return r;
    if (auto r = st->bind_int(6, a.flapping ? 1 : 0); !r) return r;
    if (auto r = st->bind_text(7, details); !r) return r;
    if (auto r = st->bind_int(8, a.raised_at_ms); !r) return r;
    if (auto r = st->bind_int(9, a.updated_at_ms); !r) return r;
    if (auto r = st->run(); !r) return r;
    a.id = db->last_insert_rowid();
    return {};
  }

  // Writes the mutable columns of `a` (state, count, last row, times, flapping).
  Result<void> update(const Alarm& a) {
    auto st = db->prepare(
        "UPDATE alarms SET rule = ?1, severity = ?2, message = ?3, state = ?4, count = ?5, "
        "flapping = ?6, details = ?7, updated_at = ?8, cleared_at = ?9 WHERE id = ?10");
    if (!st) return unexpected(st.error());
    const std::string details = a.details.to_json();
    if (auto r = st->bind_text(1, a.rule); !r) return r;
    if (auto r = st->bind_text(2, severity_name(a.severity)); !r) return r;
    if (auto r = st->bind_text(3, a.message); !r) return r;
    if (auto r = st->bind_text(4, a.active ? "active" : "cleared"); !r) return r;
    if (auto r = st->bind_int(5, a.count); !r) return r;
    if (auto r = st->bind_int(6, a.flapping ? 1 : 0); !r) return r;
    if (auto r = st->bind_text(7, details); !r) return r;
    if (auto r = st->bind_int(8, a.updated_at_ms); !r) return r;
    if (auto r = a.cleared_at_ms != 0 ? st->bind_int(9, a.cleared_at_ms) : st->bind_null(9); !r) {
      return r;
    }
    if (auto r = st->bind_int(10, a.id); !r) return r;
    return st->run();
  }

  // Writes and publishes a held update of an active alarm.
  Result<void> write_active(Active& act, int64_t now_ms) {
    if (!act.dirty) return {};
    if (auto r = update(act.alarm); !r) return r;
    act.dirty = false;
    act.written_at = now_ms;
    if (!flapping(act.alarm.key)) publish("updated", act.alarm);
    return {};
  }

  Result<void> write_all_held(int64_t now_ms) {
    for (auto& [key, act] : active) {
      if (auto r = write_active(act, now_ms); !r) return r;
    }
    return {};
  }

  bool flapping(std::string_view key) const {
    auto it = flaps.find(key);
    return it != flaps.end() && it->second.flapping;
  }

  void prune(Flap& f, int64_t now_ms) const {
    while (!f.transitions.empty() && f.transitions.front() <= now_ms - options.flap_window_ms) {
      f.transitions.pop_front();
    }
  }

  // Records a raise or clear of `a` and says whether to publish it. The transition that starts
  // flapping is published (so subscribers learn it flaps); later ones are held.
  bool transition(Alarm& a, int64_t now_ms) {
    Flap& f = flaps[a.key];
    prune(f, now_ms);
    f.transitions.push_back(now_ms);
    bool publish_it = !f.flapping;
    if (!f.flapping && f.transitions.size() >= static_cast<size_t>(options.flap_transitions)) {
      f.flapping = true;
      log_warn("alarm flapping", {{"key", a.key},
                                  {"transitions", f.transitions.size()},
                                  {"window_ms", options.flap_window_ms}});
    }
    a.flapping = f.flapping;
    return publish_it;
  }

  // Ends flapping of keys with few transitions left in the window; publishes their state.
  void settle(int64_t now_ms) {
    for (auto it = flaps.begin(); it != flaps.end();) {
      Flap& f = it->second;
      prune(f, now_ms);
      if (f.flapping && f.transitions.size() <= static_cast<size_t>(options.flap_transitions) / 2) {
        f.flapping = false;
        Alarm state = f.last;
        state.flapping = false;
        if (auto act = active.find(it->first); act != active.end()) {
          act->second.alarm.flapping = false;
          act->second.dirty = false;
          act->second.written_at = now_ms;
          state = act->second.alarm;
        }
        if (auto r = update(state); !r) {
          log_error("alarm: cannot store the end of flapping",
                    {{"key", it->first}, {"error", r.error().message}});
        }
        publish(state.active ? "raised" : "cleared", state);
        log_info("alarm stable again", {{"key", it->first}});
      }
      if (!f.flapping && f.transitions.empty()) {
        it = flaps.erase(it);
      } else {
        ++it;
      }
    }
  }

  Result<std::optional<Alarm>> get_by_id(int64_t id) const {
    auto st = db->prepare("SELECT " + std::string(kColumns) + " FROM alarms WHERE id = ?1");
    if (!st) return unexpected(st.error());
    if (auto r = st->bind_int(1, id); !r) return unexpected(r.error());
    auto row = st->step();
    if (!row) return unexpected(row.error());
    if (!*row) return std::optional<Alarm>();
    return std::optional<Alarm>(read_row(*st));
  }
};

AlarmService::AlarmService(store::MetadataStore& meta, Bus* bus, AlarmOptions options)
    : impl_(std::make_unique<Impl>(meta, bus, options)) {}

AlarmService::~AlarmService() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->loaded) return;
  for (auto& [key, act] : impl_->active) {
    if (!act.dirty) continue;
    // Held updates would otherwise be lost; they go to the store unpublished (shutting down).
    if (auto r = impl_->update(act.alarm); !r) {
      log_error("alarm: cannot store an update at shutdown",
                {{"key", key}, {"error", r.error().message}});
    }
  }
}

Result<Alarm> AlarmService::raise(std::string_view key, std::string_view rule, Severity severity,
                                  std::string_view message, const Value& details, int64_t now_ms) {
  if (auto r = check_key(key); !r) return unexpected(r.error());
  std::lock_guard lock(impl_->mu);
  if (auto r = impl_->load(); !r) return unexpected(r.error());
  if (auto it = impl_->active.find(key); it != impl_->active.end()) {
    Impl::Active& act = it->second;
    Alarm& a = act.alarm;
    ++a.count;
    a.rule = std::string(rule);
    a.severity = severity;
    a.message = std::string(message);
    a.details = details;
    a.updated_at_ms = now_ms;
    act.dirty = true;
    if (now_ms - act.written_at >= kUpdateIntervalMs) {
      if (auto r = impl_->write_active(act, now_ms); !r) return unexpected(r.error());
    }
    return a;
  }
  Alarm a;
  a.key = std::string(key);
  a.rule = std::string(rule);
  a.severity = severity;
  a.message = std::string(message);
  a.details = details;
  a.raised_at_ms = a.updated_at_ms = now_ms;
  const bool publish_it = impl_->transition(a, now_ms);
  if (auto r = impl_->insert(a); !r) return unexpected(r.error());
  impl_->flaps[a.key].last = a;
  ++impl_->raised;
  impl_->active[a.key] = Impl::Active{a, false, now_ms};
  if (publish_it) impl_->publish("raised", a);
  return a;
}

Result<bool> AlarmService::clear(std::string_view key, std::string_view rule, int64_t now_ms) {
  std::lock_guard lock(impl_->mu);
  if (auto r = impl_->load(); !r) return unexpected(r.error());
  auto it = impl_->active.find(key);
  if (it == impl_->active.end()) return false;
  Alarm a = it->second.alarm;
  a.active = false;
  a.cleared_at_ms = a.updated_at_ms = now_ms;
  (void)rule;  // the alarm keeps the rule that raised it; the clearing rule is in the log line
  const bool publish_it = impl_->transition(a, now_ms);
  if (auto r = impl_->update(a); !r) return unexpected(r.error());
  impl_->flaps[a.key].last = a;
  impl_->active.erase(it);
  ++impl_->cleared;
  if (publish_it) impl_->publish("cleared", a);
  log_debug("alarm cleared", {{"key", a.key}, {"by_rule", rule}});
  return true;
}

Result<Alarm> AlarmService::ack(int64_t id, std::string_view by, int64_t now_ms) {
  std::lock_guard lock(impl_->mu);
  if (auto r = impl_->load(); !r) return unexpected(r.error());
  Impl::Active* live = nullptr;
  for (auto& [key, act] : impl_->active) {
    if (act.alarm.id == id) live = &act;
  }
  Alarm a;
  if (live != nullptr) {
    a = live->alarm;
  } else {
    auto found = impl_->get_by_id(id);
    if (!found) return unexpected(found.error());
    if (!found->has_value()) return unexpected(Error{"alarm " + std::to_string(id) + " not found"});
    a = std::move(**found);
  }
  if (a.acked) return a;  // acknowledging twice changes nothing
  auto st =
      impl_->db->prepare("UPDATE alarms SET acked = 1, acked_by = ?1, acked_at = ?2 WHERE id = ?3");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, by); !r) return unexpected(r.error());
  if (auto r = st->bind_int(2, now_ms); !r) return unexpected(r.error());
  if (auto r = st->bind_int(3, id); !r) return unexpected(r.error());
  if (auto r = st->run(); !r) return unexpected(r.error());
  a.acked = true;
  a.acked_by = std::string(by);
  a.acked_at_ms = now_ms;
  if (live != nullptr) {
    live->alarm.acked = true;
    live->alarm.acked_by = a.acked_by;
    live->alarm.acked_at_ms = now_ms;
  }
  // The retained message of the key is its current state: an old, cleared alarm of a key that
  // has a newer active one is announced without replacing it.
  const bool current = live != nullptr || impl_->active.find(a.key) == impl_->active.end();
  impl_->publish("acked", live != nullptr ? live->alarm : a, current);
  return a;
}

Result<std::optional<Alarm>> AlarmService::get(int64_t id) const {
  std::lock_guard lock(impl_->mu);
  if (auto r = impl_->load(); !r) return unexpected(r.error());
  if (auto r = impl_->write_all_held(0); !r) return unexpected(r.error());
  return impl_->get_by_id(id);
}

Result<std::vector<Alarm>> AlarmService::list(const AlarmFilter& filter) const {
  std::lock_guard lock(impl_->mu);
  if (auto r = impl_->load(); !r) return unexpected(r.error());
  if (auto r = impl_->write_all_held(0); !r) return unexpected(r.error());
  std::string sql = "SELECT " + std::string(kColumns) + " FROM alarms WHERE 1";
  if (filter.active) sql += *filter.active ? " AND state = 'active'" : " AND state = 'cleared'";
  if (filter.severity_at_least) {
    sql += " AND severity IN (";
    for (size_t i = 0; i <= static_cast<size_t>(*filter.severity_at_least); ++i) {
      if (i != 0) sql += ", ";
      sql += "'" + std::string(kSeverityNames[i]) + "'";
    }
    sql += ")";
  }
  // substr instead of LIKE: keys may hold '%' and '_'.
  if (!filter.key_prefix.empty()) sql += " AND substr(key, 1, length(?1)) = ?1";
  sql += " ORDER BY id DESC LIMIT ?2";
  auto st = impl_->db->prepare(sql);
  if (!st) return unexpected(st.error());
  if (!filter.key_prefix.empty()) {
    if (auto r = st->bind_text(1, filter.key_prefix); !r) return unexpected(r.error());
  }
  if (auto r = st->bind_int(2, static_cast<int64_t>(filter.limit)); !r) {
    return unexpected(r.error());
  }
  std::vector<Alarm> out;
  for (;;) {
    auto row = st->step();
    if (!row) return unexpected(row.error());
    if (!*row) break;
    out.push_back(read_row(*st));
  }
  return out;
}

bool AlarmService::flush(int64_t now_ms) {
  std::lock_guard lock(impl_->mu);
  if (auto r = impl_->load(); !r) {
    log_error("alarm: cannot load active alarms", {{"error", r.error().message}});
    return false;
  }
  if (auto r = impl_->write_all_held(now_ms); !r) {
    log_error("alarm: cannot store held updates", {{"error", r.error().message}});
  }
  impl_->settle(now_ms);
  for (const auto& [key, f] : impl_->flaps) {
    if (f.flapping) return true;
  }
  return false;
}

uint64_t AlarmService::raised_total() const {
  std::lock_guard lock(impl_->mu);
  return impl_->raised;
}

uint64_t AlarmService::cleared_total() const {
  std::lock_guard lock(impl_->mu);
  return impl_->cleared;
}

}  // namespace verge::rules
