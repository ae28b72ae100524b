// Reading the small text files an operator gives the node (configuration, passwords, ACL).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace verge {

// The whole file, or an error naming what it is, e.g.
//   "cannot read config file 'x.yaml': No such file or directory".
// Files over `max_bytes` are refused: these are configuration files, and a huge one is a mistake.
Result<std::string> read_text_file(const std::string& path, std::string_view what,
                                   size_t max_bytes = size_t{16} << 20);

}  // namespace verge
