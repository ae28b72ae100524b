// The uplink batch: records of one stream sent from a node to its hub in one MQTT PUBLISH on
// verge/up/<node>/data/<stream>. Format (docs/formats/uplink-batch.md):
//
//   "VB" version=1 flags(bit 0: body is zstd; bit 1: gap before) varint(first_seq)
//   varint(count) varint(base_ts_ms) varint(body_len: uncompressed) body
//   body = count x ( zigzag-varint(ts_ms - base_ts_ms) varint(len) payload[len] )
//
// Record i has sequence number first_seq + i: sequences are the uplink log's offsets, dense per
// stream. The hub stores a batch, then acknowledges the next sequence it expects. A batch that
// starts above the hub's next sequence is stored only with the "gap before" flag: the node
// declares that the records below first_seq it has not had acknowledged are gone at the node
// (dropped by retention, or quarantined). Without it the hub refuses the batch (a batch
// before it was lost on the way or failed to store) and acknowledges its unchanged next sequence.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace verge::sync {

struct BatchRecordIn {
  int64_t ts_ms = 0;
  std::string_view payload;
};

struct BatchEncodeOptions {
  int zstd_level = 1;               // 0: never compress
  size_t compress_min_bytes = 256;  // smaller bodies go uncompressed
  bool gap_before = false;          // flag bit 1: the records below first_seq not sent are gone
};

// Appends the encoded batch to `out`. Returns the uncompressed body size (for accounting).
size_t encode_batch(uint64_t first_seq, std::span<const BatchRecordIn> records,
                    const BatchEncodeOptions& options, std::string& out);

struct DecodedRecord {
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  std::string_view payload;  // into DecodedBatch::body
};

struct DecodedBatch {
  uint64_t first_seq = 0;
  bool gap_before = false;  // flag bit 1 (BatchEncodeOptions::gap_before)
  std::string body;         // the uncompressed body (owns the payload bytes)
  std::vector<DecodedRecord> records;
  size_t wire_bytes = 0;  // the encoded size as received
};

// Errors say what is wrong ("batch: bad magic", "batch: body length 9000000 over limit", "batch:
// record 3 truncated"). `max_body_bytes` caps decompression (a zstd bomb is refused).
Result<DecodedBatch> decode_batch(std::string_view bytes, size_t max_body_bytes = 64u << 20);

}  // namespace verge::sync
