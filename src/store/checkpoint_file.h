// Recovery checkpoints of a log: where the last segment was last known synced, so open() scans
// only the bytes after it (the unsynced tail), not the whole segment. The file `checkpoint` is
// a sequence of appended entries, each written only after the segment bytes it describes were
// synced, so any entry that reaches the disk is true. A checkpoint is a hint,
// never trusted blindly: entries are checked by CRC (a torn one is skipped), the last valid one
// is used only when it names the last segment and the batch at its position checks out;
// otherwise open() scans the whole last segment. Entry format (docs/formats/segment-log.md):
//   verge-checkpoint 1\n segment <base>\n pos <pos>\n next <offset>\n max_ts <ts|->\n
//   index <offset> <pos>\n ... crc32c <8 hex digits>\n
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/fs.h"

namespace verge::store {

struct Checkpoint {
  uint64_t segment = 0;  // base offset of the segment it describes
  uint64_t pos = 0;      // bytes [0, pos) of that segment are synced, whole batches
  uint64_t next = 0;     // offset of the first record at pos
  std::optional<int64_t> max_ts;
  std::vector<std::pair<uint64_t, uint64_t>> index;  // (batch base offset, position), coarse
};

std::string encode_checkpoint(const Checkpoint& c);
std::optional<Checkpoint> decode_checkpoint(std::string_view entry);
// The last valid entry of a checkpoint file's text.
std::optional<Checkpoint> last_checkpoint(std::string_view file_text);

// Missing, unreadable or without a valid entry: nullopt (the caller scans the last segment).
std::optional<Checkpoint> load_checkpoint(Filesystem& fs, const std::string& dir);

}  // namespace verge::store
