// The embedded ingest store's log record: one accepted slice of a batch
// (docs/formats/hub-ingest.md). Re-encoded rather than stored as received: a partly duplicate batch
// keeps only its new tail, the format stays independent of the wire format, and the copy costs
// about what copying the body would (one memcpy per payload plus two varints).
//
//   u8 version=1, varint(len) node, varint(len) stream, varint(first_seq), varint(count),
//   zigzag-varint(min_ts_ms), varint(max_ts_ms - min_ts_ms),
//   count x ( varint(ts_ms - min_ts_ms) varint(len) payload )
//
// count may be 0: a record that only moves next_seq past a gap the node announced.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sync/batch.h"

namespace verge::sync::ingest {

struct SliceHeader {
  std::string_view node, stream;
  uint64_t first_seq = 0, count = 0;
  int64_t min_ts = 0, max_ts = 0;
  size_t body_pos = 0;  // where the records start in the encoded slice
};

// Encodes `records` (consecutive sequences from first_seq) into `out` (cleared first).
void encode_slice(std::string_view node, std::string_view stream, uint64_t first_seq,
                  std::span<const DecodedRecord> records, std::string& out);

Result<SliceHeader> decode_slice_header(std::string_view slice);

// Calls fn(seq, ts_ms, payload) for each record of a slice whose header was decoded; stops early
// when fn returns false.
Result<void> for_each_record(std::string_view slice, const SliceHeader& h,
                             const std::function<bool(uint64_t, int64_t, std::string_view)>& fn);

}  // namespace verge::sync::ingest
