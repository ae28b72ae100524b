// How `verge ctl` shows the API's replies: aligned tables, ages, sizes, indented JSON, and the
// node status page. Pure (no I/O), unit-tested in tests/unit/ctl_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cmd/ctl_args.h"
#include "core/value.h"

namespace verge::cmd::ctl {

// Columns padded to their widest cell, two spaces apart; the last column is not padded.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

std::string format_duration_ms(int64_t ms);  // "850ms", "42s", "3m05s", "2h10m", "4d3h"
std::string format_ago(int64_t then_ms, int64_t now_ms);  // "12s ago", "never" for 0
std::string format_bytes(int64_t bytes);                  // "512 B", "1.5 KiB", "3.2 MiB", ...
std::string format_scalar(const Value& v);                // strings bare, null as "-", else JSON
std::string pretty_json(const Value& v);                  // two-space indent, newline-terminated

// The node status page from GET /api/v1/nodes/{id}.
std::string format_node_status(const Value& node, int64_t now_ms);

// Renders a successful reply for `output` (the reply body parsed; null for 204).
std::string render_reply(Output output, const Value& body, int64_t now_ms);

}  // namespace verge::cmd::ctl
