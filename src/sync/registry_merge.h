// Merging desired-state documents into a node's effective document (internal to the registry).
#pragma once

#include <cstdint>
#include <span>

#include "core/value.h"

namespace verge::sync::registry_internal {

// Item by item per kind: a later document's item replaces an earlier's item of the same name.
// The result always has every kind (sync/desired.h: kDesiredKinds, in that order), items sorted
// by name, and no "version"; so two merges of equal content compare equal.
Value merge_desired(std::span<const Value* const> docs);

// `merged` with "version" first (what a node receives).
Value with_version(const Value& merged, int64_t version);

// The document without a "version" member (the hub sets it, a stored document never has one).
Value without_version(const Value& doc);

}  // namespace verge::sync::registry_internal
