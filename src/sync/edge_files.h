// Small files of the edge's sync state (<data-dir>/sync/): credentials, applied.json, node.json.
// They are replaced atomically so a crash leaves the old or the new content, never a torn file.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace verge::sync {

// Writes `data` to `<path>.tmp` with `mode`, fsyncs it, renames it over `path` and fsyncs the
// directory. Errors name the file and the errno text.
Result<void> write_file_atomic(const std::string& path, std::string_view data, unsigned mode);

// Creates `dir` and its parents (0700 for new ones: it holds a private key).
Result<void> make_private_dir(const std::string& dir);

bool file_exists(const std::string& path);

}  // namespace verge::sync
