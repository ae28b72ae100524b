// The durable consumer cursors of a log: one small text file, replaced atomically (written to
// `cursors.tmp`, synced, renamed over `cursors`). Format (docs/formats/segment-log.md):
//   verge-cursors 1\n  then  <name> <offset>\n  per cursor, then  crc32c <8 hex digits>\n
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/fs.h"

namespace verge::store {

using CursorMap = std::map<std::string, uint64_t, std::less<>>;

// Names are 1..200 printable ASCII characters without spaces.
bool valid_cursor_name(std::string_view name);

std::string encode_cursors(const CursorMap& cursors);
Result<CursorMap> decode_cursors(std::string_view text);

// Missing file = no cursors. A damaged file is an error (it is only ever replaced atomically).
Result<CursorMap> load_cursors(Filesystem& fs, const std::string& dir);
FsResult<void> save_cursors(Filesystem& fs, const std::string& dir, const CursorMap& cursors);

}  // namespace verge::store
