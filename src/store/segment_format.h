// The bytes of a segment file (docs/formats/segment-log.md): a segment header, then batches of
// records, each batch covered by one CRC32C. Encoding and decoding are pure; BatchReader walks a
// File and is what recovery, reads and the fuzz target use, so every check lives in one place.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/fs.h"

namespace verge::store {

inline constexpr uint32_t kSegmentMagic = 0x47455356;  // "VSEG" in file order
inline constexpr uint32_t kBatchMagic = 0x54414256;    // "VBAT"
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 20;
inline constexpr size_t kBatchHeaderSize = 48;
inline constexpr uint16_t kBatchZstd = 1;  // flags bit 0: the body is one zstd frame
// Hard limits, independent of options, so a damaged length can never make a reader allocate
// without bound. A record is at most kMaxRecordBytes; a batch body at most kMaxBatchBytes.
inline constexpr uint32_t kMaxRecordBytes = 64u << 20;
inline constexpr uint32_t kMaxBatchBytes = 128u << 20;
// The writer closes a batch once its records reach this many bytes (reads decode whole batches).
inline constexpr size_t kTargetBatchBytes = 256u << 10;

std::string encode_segment_header(uint64_t base_offset);

struct FormatError {
  enum class Kind : uint8_t {
    Io,          // the File failed (fs_error set)
    HalfHeader,  // fewer bytes than a header before the end
    ZeroFilled,  // zeros where a header should be (a file extended but never written)
    BadMagic,
    BadVersion,
    BadLength,  // a length past the end of the file or beyond the hard limits
    BadCrc,
    BadRecord,  // the CRC matched but the records do not parse (or zstd failed)
    BadOffset,  // a batch whose base offset does not continue the previous one
  };
  Kind kind = Kind::BadMagic;
  std::string what;
  std::optional<FsError> fs_error;
};
const char* format_error_name(FormatError::Kind k);

// Reads a segment header; returns its base offset.
Result<uint64_t, FormatError> decode_segment_header(std::string_view bytes);

struct BatchHeader {
  uint32_t crc = 0;         // CRC32C of bytes [8, 48 + stored_len) of the batch
  uint32_t stored_len = 0;  // body bytes as stored (compressed or not)
  uint16_t flags = 0;
  uint64_t base_offset = 0;
  uint32_t count = 0;    // records in the batch, >= 1
  uint32_t raw_len = 0;  // body bytes once decompressed
  int64_t first_ts = 0;  // timestamp of the first record; record timestamps are deltas to it
  int64_t max_ts = 0;    // newest timestamp in the batch (age retention without decoding)
};
// Parses the 48 header bytes and checks magic, flags and lengths against the hard limits.
Result<BatchHeader, FormatError> decode_batch_header(std::string_view bytes);

struct DecodedRecord {
  uint64_t offset;
  int64_t timestamp_ms;
  std::string_view payload;  // into the body or into the scratch buffer given to decode_records
};
// Checks the CRC of a batch (header bytes + body) and decodes its records into `out` (cleared).
// `scratch` keeps the decompressed body; views in `out` point into `body` or `scratch`.
Result<void, FormatError> decode_batch(const BatchHeader& h, std::string_view header_bytes,
                                       std::string_view body, std::string& scratch,
                                       std::vector<DecodedRecord>& out);

// Builds batches. Not thread-safe; the writer thread owns one.
class BatchBuilder {
 public:
  BatchBuilder();
  ~BatchBuilder();
  BatchBuilder(const BatchBuilder&) = delete;
  BatchBuilder& operator=(const BatchBuilder&) = delete;

  bool empty() const { return count_ == 0; }
  uint32_t count() const { return count_; }
  size_t raw_size() const { return body_.size(); }
  // The first record fixes the batch's base offset and first timestamp.
  void add(uint64_t offset, int64_t timestamp_ms, std::string_view payload);
  // Appends the finished batch to `out` (zstd-compressed when `compress` and that is smaller),
  // and resets the builder. Returns the batch's max timestamp.
  int64_t finish(std::string& out, bool compress);

 private:
  std::string body_;
  std::string zbuf_;
  uint64_t base_ = 0;
  int64_t first_ts_ = 0, max_ts_ = 0;
  uint32_t count_ = 0;
  void* zctx_ = nullptr;  // ZSTD_CCtx, created on first compressed batch
};

// An upper bound of the bytes `n` records of `payload_bytes` in total take in batches, used to
// refuse appends that cannot fit in a segment and to account for pending bytes.
uint64_t encoded_bound(uint64_t n, uint64_t payload_bytes);

// Walks the batches of one segment file from `pos` up to `end`, reading ahead in large chunks.
// Each batch returned passed every check (magic, lengths, CRC, records, offsets continuing).
class BatchReader {
 public:
  BatchReader(File& file, uint64_t pos, uint64_t end);

  struct Batch {
    BatchHeader header;
    uint64_t pos = 0;                                     // of its header in the file
    size_t size = 0;                                      // header + body
    const std::vector<DecodedRecord>* records = nullptr;  // valid until the next call
  };
  // True and `out` set: a valid batch. False: a clean end at `end`. Error: the bytes at pos()
  // are not a valid batch (pos() stays at the start of the bad one).
  Result<bool, FormatError> next(Batch& out);
  uint64_t pos() const { return pos_; }
  // When set, a batch must start at this offset (then the following one continues it).
  void expect_offset(uint64_t offset) { expected_ = offset; }
  // Decode record bodies only when asked (index building needs headers and CRCs only).
  void set_decode(bool decode) { decode_ = decode; }

 private:
  Result<std::string_view, FormatError> bytes(uint64_t pos, size_t len);
  File& file_;
  uint64_t pos_, end_;
  std::optional<uint64_t> expected_;
  bool decode_ = true;
  std::string buf_;
  uint64_t buf_pos_ = 0;  // file position of buf_[0]
  std::string scratch_;
  std::vector<DecodedRecord> records_;
};

// An in-memory File over a string, for the fuzz target and tests of the decoder.
class MemoryFile final : public File {
 public:
  explicit MemoryFile(std::string data) : data_(std::move(data)) {}
  FsResult<void> append(std::string_view d) override;
  FsResult<size_t> read_at(uint64_t offset, char* buf, size_t len) override;
  FsResult<void> sync() override { return {}; }
  FsResult<void> truncate(uint64_t length) override;
  FsResult<uint64_t> size() override { return data_.size(); }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

}  // namespace verge::store
