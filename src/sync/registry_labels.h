// Labels and selectors as the registry stores and compares them (internal to the registry).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/value.h"
#include "sync/registry.h"

namespace verge::sync::registry_internal {

// Label keys and values: [A-Za-z0-9] first, then [A-Za-z0-9._/-] (keys) or [A-Za-z0-9._-]
// (values), at most 63 characters. Errors name the label.
Result<void> validate_labels(const Labels& labels);
// The normalised selector text: "k=v" pairs sorted by key, joined by ",".
std::string format_selector(const Labels& selector);

// Labels stored as a JSON object of strings.
std::string labels_to_json(const Labels& labels);
Result<Labels> labels_from_json(std::string_view text);

NodeState node_state_from(std::string_view text);  // unknown text: Revoked (fails closed)

}  // namespace verge::sync::registry_internal
