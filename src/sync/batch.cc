#include "sync/batch.h"

#include <zstd.h>

#include <algorithm>
#include <limits>

#include "store/tsdb_bytes.h"

namespace verge::sync {

namespace {

using store::tsdb_detail::ByteReader;
using store::tsdb_detail::put_varint;
using store::tsdb_detail::unzigzag;
using store::tsdb_detail::zigzag;

constexpr char kMagic0 = 'V';
constexpr char kMagic1 = 'B';
constexpr uint8_t kVersion = 1;
constexpr uint8_t kFlagZstd = 0x01;
constexpr uint8_t kFlagGapBefore = 0x02;

// Every record takes at least two body bytes (a ts delta and a length), so a count above
// body_len / 2 cannot be true: checked before reserving memory for the records.
constexpr uint64_t kMinRecordBytes = 2;

// Above any std::string small-buffer size (15 in libstdc++, 22 in libc++).
constexpr size_t kMinHeapBytes = 64;

Error batch_error(const std::string& what) { return Error{"batch: " + what}; }

}  // namespace

size_t encode_batch(uint64_t first_seq, std::span<const BatchRecordIn> records,
                    const BatchEncodeOptions& options, std::string& out) {
  const int64_t base_ts = records.empty() ? 0 : records.front().ts_ms;
  std::string body;
  size_t payload_bytes = 0;
  for (const auto& r : records) payload_bytes += r.payload.size();
  body.reserve(payload_bytes + records.size() * 4);
  for (const auto& r : records) {
    // Wrapping subtraction: timestamps far apart must still round-trip, never overflow (UB).
    const auto delta =
        static_cast<int64_t>(static_cast<uint64_t>(r.ts_ms) - static_cast<uint64_t>(base_ts));
    put_varint(body, zigzag(delta));
    put_varint(body, r.payload.size());
    body.append(r.payload);
  }

  std::string compressed;
  bool use_zstd = options.zstd_level > 0 && body.size() >= options.compress_min_bytes;
  if (use_zstd) {
    compressed.resize(ZSTD_compressBound(body.size()));
    const size_t n = ZSTD_compress(compressed.data(), compressed.size(), body.data(), body.size(),
                                   options.zstd_level);
    // Sent plain when zstd fails or does not make it smaller (random payloads).
    if (ZSTD_isError(n) || n >= body.size()) {
      use_zstd = false;
    } else {
      compressed.resize(n);
    }
  }

  out.push_back(kMagic0);
  out.push_back(kMagic1);
  out.push_back(static_cast<char>(kVersion));
  uint8_t flags = use_zstd ? kFlagZstd : 0;
  if (options.gap_before) flags |= kFlagGapBefore;
  out.push_back(static_cast<char>(flags));
  put_varint(out, first_seq);
  put_varint(out, records.size());
  put_varint(out, static_cast<uint64_t>(base_ts));  // two's complement: negative takes 10 bytes
  put_varint(out, body.size());
  out.append(use_zstd ? compressed : body);
  return body.size();
}

Result<DecodedBatch> decode_batch(std::string_view bytes, size_t max_body_bytes) {
  if (bytes.size() < 4) return unexpected(batch_error("truncated header"));
  if (bytes[0] != kMagic0 || bytes[1] != kMagic1) return unexpected(batch_error("bad magic"));
  const auto version = static_cast<uint8_t>(bytes[2]);
  if (version != kVersion) {
    return unexpected(batch_error("unsupported version " + std::to_string(version)));
  }
  const auto flags = static_cast<uint8_t>(bytes[3]);
  if ((flags & ~(kFlagZstd | kFlagGapBefore)) != 0) {
    return unexpected(batch_error("unknown flags " + std::to_string(flags)));
  }

  ByteReader in(bytes.substr(4));
  const uint64_t first_seq = in.varint();
  const uint64_t count = in.varint();
  const auto base_ts = static_cast<int64_t>(in.varint());
  const uint64_t body_len = in.varint();
  if (!in.ok()) return unexpected(batch_error("truncated header"));
  if (body_len > max_body_bytes) {
    return unexpected(batch_error("body length " + std::to_string(body_len) + " over limit " +
                                  std::to_string(max_body_bytes)));
  }
  if (count > body_len / kMinRecordBytes) {
    return unexpected(batch_error("count " + std::to_string(count) + " too large for body of " +
                                  std::to_string(body_len) + " bytes"));
  }
  // The sequences of a batch must not wrap around.
  if (count > 0 && first_seq > std::numeric_limits<uint64_t>::max() - (count - 1)) {
    return unexpected(batch_error("sequence range overflows"));
  }

  DecodedBatch batch;
  // Payload views point into `body`; a short string would live inline (SSO) and move with the
  // DecodedBatch, leaving the views dangling. A heap buffer keeps its address when moved.
  batch.body.reserve(std::max<size_t>(static_cast<size_t>(body_len), kMinHeapBytes));
  batch.first_seq = first_seq;
  batch.gap_before = (flags & kFlagGapBefore) != 0;
  batch.wire_bytes = bytes.size();
  const std::string_view rest = bytes.substr(4 + in.pos());
  if ((flags & kFlagZstd) != 0) {
    // The frame must declare its size and agree with body_len: a frame that lies is refused
    // before any memory is reserved for it.
    const unsigned long long declared = ZSTD_getFrameContentSize(rest.data(), rest.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR) return unexpected(batch_error("bad zstd frame"));
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN || declared != body_len) {
      return unexpected(
          batch_error("zstd frame size does not match body length " + std::to_string(body_len)));
    }
    batch.body.resize(static_cast<size_t>(body_len));
    const size_t n =
        ZSTD_decompress(batch.body.data(), batch.body.size(), rest.data(), rest.size());
    if (ZSTD_isError(n)) {
      return unexpected(batch_error(std::string("zstd: ") + ZSTD_getErrorName(n)));
    }
    if (n != body_len) return unexpected(batch_error("zstd body shorter than declared"));
  } else {
    if (rest.size() != body_len) {
      return unexpected(batch_error("body is " + std::to_string(rest.size()) +
                                    " bytes, header says " + std::to_string(body_len)));
    }
    batch.body.assign(rest);
  }

  ByteReader body(batch.body);
  batch.records.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    const int64_t delta = unzigzag(body.varint());
    const uint64_t len = body.varint();
    const std::string_view payload = body.bytes(len);
    if (!body.ok()) return unexpected(batch_error("record " + std::to_string(i) + " truncated"));
    DecodedRecord r;
    r.seq = first_seq + i;
    r.ts_ms = static_cast<int64_t>(static_cast<uint64_t>(base_ts) + static_cast<uint64_t>(delta));
    r.payload = payload;
    batch.records.push_back(r);
  }
  if (body.left() != 0) {
    return unexpected(batch_error(std::to_string(body.left()) + " bytes after the last record"));
  }
  return batch;
}

}  // namespace verge::sync
