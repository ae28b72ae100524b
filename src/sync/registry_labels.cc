#include "sync/registry_labels.h"

#include <cctype>

namespace verge::sync {

namespace {

constexpr size_t kMaxLabelLength = 63;

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Keys may carry a prefix ("example.com/zone"); values are plain words.
bool valid_label_part(std::string_view s, bool key) {
  if (s.empty() || s.size() > kMaxLabelLength || !alnum(s.front())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-' && !(key && c == '/')) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<Labels> parse_selector(std::string_view text) {
  Labels out;
  if (trim(text).empty()) return out;
  const std::string where = "selector \"" + std::string(text) + "\": ";
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view pair = trim(text.substr(0, comma));
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return unexpected(Error{where + "\"" + std::string(pair) + "\" is not key=value"});
    }
    const std::string key(trim(pair.substr(0, eq)));
    const std::string value(trim(pair.substr(eq + 1)));
    if (!valid_label_part(key, true)) {
      return unexpected(Error{where + "bad key \"" + key + "\""});
    }
    if (!valid_label_part(value, false)) {
      return unexpected(Error{where + "bad value \"" + value + "\" for " + key});
    }
    if (!out.emplace(key, value).second) {
      return unexpected(Error{where + "key \"" + key + "\" appears twice"});
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool selector_matches(const Labels& selector, const Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::string_view to_string(NodeState s) {
  switch (s) {
    case NodeState::Pending:
      return "pending";
    case NodeState::Active:
      return "active";
    case NodeState::Revoked:
      return "revoked";
  }
  return "revoked";
}

std::string_view to_string(Role r) {
  switch (r) {
    case Role::Viewer:
      return "viewer";
    case Role::Operator:
      return "operator";
    case Role::Admin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view s) {
  for (Role r : {Role::Viewer, Role::Operator, Role::Admin}) {
    if (s == to_string(r)) return r;
  }
  return std::nullopt;
}

std::string DesiredScope::key() const {
  return (kind == Kind::Node ? "node:" : "selector:") + value;
}

namespace registry_internal {

Result<void> validate_labels(const Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (!valid_label_part(k, true)) return unexpected(Error{"label \"" + k + "\": bad key"});
    if (!valid_label_part(v, false)) {
      return unexpected(Error{"label " + k + ": bad value \"" + v + "\""});
    }
  }
  return {};
}

std::string format_selector(const Labels& selector) {
  std::string out;
  for (const auto& [k, v] : selector) {
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string labels_to_json(const Labels& labels) {
  ValueObject o;
  o.reserve(labels.size());
  for (const auto& [k, v] : labels) o.emplace_back(k, Value(v));
  return Value(std::move(o)).to_json();
}

Result<Labels> labels_from_json(std::string_view text) {
  auto v = parse_json(text);
  if (!v || !v->is_object()) return unexpected(Error{"labels: expected a JSON object"});
  Labels out;
  for (const auto& [k, item] : v->as_object()) {
    if (!item.is_string()) return unexpected(Error{"labels: " + k + ": expected a string"});
    out.emplace(k, item.as_string());
  }
  return out;
}

NodeState node_state_from(std::string_view text) {
  if (text == "pending") return NodeState::Pending;
  if (text == "active") return NodeState::Active;
  return NodeState::Revoked;
}

}  // namespace registry_internal

}  // namespace verge::sync
