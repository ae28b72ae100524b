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

// Line-oriented files: takes the next line of `text` (without its '\n') into `line` and removes
// it from `text`. False when `text` is exhausted.
bool next_line(std::string_view& text, std::string_view& line);

// "name:line: what", the form of every error about a line of an operator's file.
Error line_error(std::string_view name, size_t line, std::string_view what);

}  // namespace verge
