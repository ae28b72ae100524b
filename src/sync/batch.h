// The uplink batch: records of one stream sent from a node to its hub in one MQTT PUBLISH on
// verge/up/<node>/data/<stream>. Format (docs/formats/uplink-batch.md):
//
//   "VB" version=1 flags(bit 0: body is zstd) varint(first_seq) varint(count) varint(base_ts_ms)
//   varint(body_len: uncompressed) body
//   body = count x ( zigzag-varint(ts_ms - base_ts_ms) varint(len) payload[len] )
//
// Record i has sequence number first_seq + i: sequences are the uplink log's offsets, dense per
// stream. The hub stores a batch, then acknowledges the next sequence it expects.
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
  std::string body;  // the uncompressed body (owns the payload bytes)
  std::vector<DecodedRecord> records;
  size_t wire_bytes = 0;  // the encoded size as received
};

// Errors say what is wrong ("batch: bad magic", "batch: body length 9000000 over limit", "batch:
// record 3 truncated"). `max_body_bytes` caps decompression (a zstd bomb is refused).
Result<DecodedBatch> decode_batch(std::string_view bytes, size_t max_body_bytes = 64u << 20);

}  // namespace verge::sync
