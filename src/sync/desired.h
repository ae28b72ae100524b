// Desired state: the configuration a hub wants a node to run. A document is
//   {"version": N,                       (set by the hub, per node, +1 on every change)
//    "profiles": {"<name>": {...}},      device profiles (docs/devices/model.md)
//    "devices":  {"<id>": {...}},        devices
//    "streams":  {"<name>": "CREATE STREAM ..."},
//    "rules":    {"<id>": {...}}}        rules (docs/rules/api.md)
// Items are keyed by name; the key is also the item's name/id field. At the hub, documents are set
// per node and per label selector and merged into the node's effective document (sync/registry.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"

namespace verge::sync {

inline constexpr std::string_view kDesiredKinds[] = {"profiles", "devices", "streams", "rules"};

struct ItemChange {
  std::string kind;  // one of kDesiredKinds
  std::string name;
  enum class Op { Put, Delete } op = Op::Put;
  const Value* spec = nullptr;  // Put: into the new document
};

// What must change to go from `applied` to `desired`: items that are new or whose spec differs
// (Put), and items that are gone (Delete). Unchanged items are not listed. Order: deletes of rules,
// then streams, devices, profiles; then puts of profiles, devices, streams, rules (dependencies).
std::vector<ItemChange> diff_desired(const Value& applied, const Value& desired);

// Checks the document's shape: an object of known kinds, each an object of items (name valid).
// Errors name the path ("devices.boiler-1: expected an object").
Result<void> validate_desired(const Value& doc);

}  // namespace verge::sync
