// Reads a desired-state file for `verge ctl desired set`: JSON, or YAML turned into a Value the
// way the node's config reads YAML (plain scalars typed, quoted ones strings).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/value.h"

namespace verge::cmd::ctl {

// `name` is used in error messages ("site.yaml:3: ...").
Result<Value> parse_doc_text(std::string_view text, std::string_view name);
Result<Value> read_doc_file(const std::string& path);

}  // namespace verge::cmd::ctl
