// JSON string escaping, shared by the API's JSON replies and the quoted values of log lines.
#pragma once

#include <string>
#include <string_view>

namespace verge {

// Appends `s` as a quoted JSON string: `"`, `\` and control characters (and DEL) escaped.
void append_json_string(std::string& out, std::string_view s);

}  // namespace verge
