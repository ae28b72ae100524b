// Desired-state documents: their shape, and the difference between two of them.
#include "sync/desired.h"

#include <array>
#include <string>

namespace verge::sync {

namespace {

// The union of what the managers accept (device names: 64 of [A-Za-z0-9_.-], rule ids: 128 of
// the same); each manager applies its own limit when the item is applied.
bool valid_item_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool known_kind(std::string_view k) {
  for (auto kind : kDesiredKinds) {
    if (kind == k) return true;
  }
  return false;
}

// The member naming the item inside its spec ("name" for profiles, "id" for devices and rules);
// streams are SQL text and carry their name in the statement.
std::string_view name_field(std::string_view kind) {
  if (kind == "profiles") return "name";
  if (kind == "streams") return {};
  return "id";
}

Unexpected<Error> fail(const std::string& path, std::string_view what) {
  return unexpected(Error{path + ": " + std::string(what)});
}

const ValueObject* items_of(const Value& doc, std::string_view kind) {
  const Value* v = doc.find(kind);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

const Value* find_item(const ValueObject* items, std::string_view name) {
  if (items == nullptr) return nullptr;
  for (const auto& [k, v] : *items) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace

std::vector<ItemChange> diff_desired(const Value& applied, const Value& desired) {
  std::vector<ItemChange> out;
  // Deletes in reverse dependency order: rules read streams, devices use profiles.
  static constexpr std::array<std::string_view, 4> kDeleteOrder = {"rules", "streams", "devices",
                                                                   "profiles"};
  for (auto kind : kDeleteOrder) {
    const ValueObject* old_items = items_of(applied, kind);
    const ValueObject* new_items = items_of(desired, kind);
    if (old_items == nullptr) continue;
    for (const auto& [name, spec] : *old_items) {
      if (find_item(new_items, name) == nullptr) {
        out.push_back({std::string(kind), name, ItemChange::Op::Delete, nullptr});
      }
    }
  }
  for (auto kind : kDesiredKinds) {  // profiles, devices, streams, rules
    const ValueObject* old_items = items_of(applied, kind);
    const ValueObject* new_items = items_of(desired, kind);
    if (new_items == nullptr) continue;
    for (const auto& [name, spec] : *new_items) {
      const Value* before = find_item(old_items, name);
      if (before == nullptr || !(*before == spec)) {
        out.push_back({std::string(kind), name, ItemChange::Op::Put, &spec});
      }
    }
  }
  return out;
}

Result<void> validate_desired(const Value& doc) {
  if (!doc.is_object()) return unexpected(Error{"desired: expected an object"});
  for (const auto& [key, v] : doc.as_object()) {
    if (key == "version") {
      if (!v.is_int() || v.as_int() < 0) return fail(key, "expected a non-negative integer");
      continue;
    }
    if (!known_kind(key)) {
      return fail(key, "unknown kind (profiles, devices, streams, rules, version)");
    }
    if (!v.is_object()) return fail(key, "expected an object of items");
    const std::string_view field = name_field(key);
    for (const auto& [name, spec] : v.as_object()) {
      const std::string path = key + "." + name;
      if (!valid_item_name(name)) return fail(path, "name: expected 1..128 of A-Z a-z 0-9 _ . -");
      if (key == "streams") {
        if (!spec.is_string()) return fail(path, "expected a CREATE STREAM statement (string)");
        continue;
      }
      if (!spec.is_object()) return fail(path, "expected an object");
      const Value* named = spec.find(field);
      if (named != nullptr && !(named->is_string() && named->as_string() == name)) {
        return fail(path, std::string(field) + ": must equal the item's key");
      }
    }
  }
  return {};
}

}  // namespace verge::sync
