// make_action: picks the kind and hands its configuration to the kind's factory.
#include <algorithm>
#include <cmath>

#include "core/json.h"
#include "rules/action_internal.h"

namespace verge::rules {

Error ActionConfig::error(std::string_view field, std::string_view what) const {
  return Error{kind_ + "." + std::string(field) + ": " + std::string(what)};
}

const Value* ActionConfig::get(std::string_view name) {
  known_.emplace_back(name);
  const Value* v = object_.find(name);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Result<std::optional<std::string>> ActionConfig::opt_string(std::string_view name) {
  const Value* v = get(name);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return unexpected(error(name, "expected a string"));
  return std::optional<std::string>(v->as_string());
}

Result<std::string> ActionConfig::string(std::string_view name) {
  auto s = opt_string(name);
  if (!s) return unexpected(s.error());
  if (!s->has_value()) return unexpected(error(name, "missing"));
  return std::move(**s);
}

Result<std::optional<bool>> ActionConfig::opt_bool(std::string_view name) {
  const Value* v = get(name);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return unexpected(error(name, "expected true or false"));
  return std::optional<bool>(v->as_bool());
}

Result<std::optional<int64_t>> ActionConfig::opt_int(std::string_view name, int64_t min,
                                                     int64_t max) {
  const Value* v = get(name);
  if (v == nullptr) return std::optional<int64_t>();
  int64_t n = 0;
  if (v->is_int()) {
    n = v->as_int();
  } else if (v->is_float() && std::abs(v->as_float()) < 9e15 &&
             std::floor(v->as_float()) == v->as_float()) {
    n = static_cast<int64_t>(v->as_float());  // 3.0 from a YAML/JSON writer is still 3
  } else {
    return unexpected(error(name, "expected an integer"));
  }
  if (n < min || n > max) {
    return unexpected(error(
        name, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max)));
  }
  return std::optional<int64_t>(n);
}

Result<std::optional<Template>> ActionConfig::opt_tmpl(std::string_view name) {
  auto s = opt_string(name);
  if (!s) return unexpected(s.error());
  if (!s->has_value()) return std::optional<Template>();
  auto t = Template::parse(**s);
  if (!t) return unexpected(error(name, t.error().message));
  return std::optional<Template>(std::move(*t));
}

Result<Template> ActionConfig::tmpl(std::string_view name) {
  auto t = opt_tmpl(name);
  if (!t) return unexpected(t.error());
  if (!t->has_value()) return unexpected(error(name, "missing"));
  return std::move(**t);
}

Result<void> ActionConfig::finish() const {
  for (const auto& [name, value] : object_.as_object()) {
    if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
      return unexpected(error(name, "unknown field"));
    }
  }
  return {};
}

namespace {

// Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF): MQTT requires it of
// topic names, and a row's strings may have been cut mid-character by a function.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

Result<void> check_topic_name(std::string_view topic) {
  if (topic.empty()) return unexpected(Error{"topic is empty"});
  if (topic.size() > 65535) return unexpected(Error{"topic is longer than 65535 bytes"});
  for (char c : topic) {
    if (c == '+' || c == '#') {
      return unexpected(Error{"topic '" + std::string(topic) + "' holds a wildcard"});
    }
    if (c == '\0') return unexpected(Error{"topic holds a NUL character"});
  }
  if (!valid_utf8(topic)) return unexpected(Error{"topic is not valid UTF-8"});
  return {};
}

std::string row_envelope(const Value& row, std::string_view rule_id, int64_t now_ms) {
  std::string out = "{\"rule\":";
  append_json_string(out, rule_id);
  out += ",\"ts\":";
  out += std::to_string(now_ms);
  out += ",\"row\":";
  row.append_json(out);
  out += '}';
  return out;
}

Result<std::unique_ptr<Action>> make_action(const Value& config, const ActionServices& services) {
  if (!config.is_object() || config.as_object().size() != 1) {
    return unexpected(
        Error{"an action is an object with exactly one member naming its kind (publish, alarm, "
              "device, uplink, tsdb, webhook, log)"});
  }
  const auto& [kind, body] = config.as_object().front();
  // `log: {}` and `log: null` (a bare "- log:" in YAML) both mean the defaults.
  const Value empty{ValueObject{}};
  const Value& object = body.is_null() ? empty : body;
  if (!object.is_object()) return unexpected(Error{kind + ": expected an object of settings"});
  ActionConfig cfg(kind, object);
  ActionResult made = unexpected(Error{});
  if (kind == "publish") {
    made = make_publish_action(cfg, services);
  } else if (kind == "alarm") {
    made = make_alarm_action(cfg, services);
  } else if (kind == "device") {
    made = make_device_action(cfg, services);
  } else if (kind == "uplink") {
    made = make_uplink_action(cfg, services);
  } else if (kind == "tsdb") {
    made = make_tsdb_action(cfg, services);
  } else if (kind == "webhook") {
    made = make_webhook_action(cfg, services);
  } else if (kind == "log") {
    made = make_log_action(cfg, services);
  } else {
    return unexpected(Error{"unknown action kind '" + kind +
                            "' (expected publish, alarm, device, uplink, tsdb, webhook or log)"});
  }
  if (!made) return made;
  // Unknown fields are reported after the known ones were checked, so the first error is the
  // one a reader expects (a missing topic before a misspelt option).
  if (auto r = cfg.finish(); !r) return unexpected(r.error());
  return made;
}

}  // namespace verge::rules
