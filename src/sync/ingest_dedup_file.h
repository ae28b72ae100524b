// The embedded ingest store's dedup checkpoint, <data-dir>/ingest/dedup: every stream's next
// sequence as of a log offset, so streams whose records retention has deleted keep their next_seq
// (the log scan at open rebuilds the rest). Replaced atomically (dedup.tmp, synced, renamed).
// Format (docs/formats/hub-ingest.md):
//   "verge-ingest-dedup 1\n" varint(log_offset) varint(n)
//   n x ( varint(len) node varint(len) stream varint(next_seq) )  u32-le crc32c(all before)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "core/result.h"
#include "store/fs.h"

namespace verge::sync::ingest {

struct DedupCheckpoint {
  uint64_t log_offset = 0;  // every log record below is reflected
  std::map<std::pair<std::string, std::string>, uint64_t> next_seq;
};

std::string encode_dedup(const DedupCheckpoint& c);
Result<DedupCheckpoint> decode_dedup(std::string_view bytes);

// Missing file: an empty checkpoint. A damaged one is an error (it is only replaced atomically).
Result<DedupCheckpoint> load_dedup(store::Filesystem& fs, const std::string& dir);
Result<void> save_dedup(store::Filesystem& fs, const std::string& dir, const DedupCheckpoint& c);

}  // namespace verge::sync::ingest
