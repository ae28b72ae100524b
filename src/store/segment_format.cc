#include "store/segment_format.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "store/crc32c.h"

namespace verge::store {
namespace {

// Little-endian fixed-width fields (the format is little-endian on every host; the hosts we
// build for are little-endian, so these are plain copies).
template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}
template <class T>
void put_at(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
template <class T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void put_varint(std::string& out, uint64_t v) {
  char b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out.append(b, n);
}

bool get_varint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // would overflow 64 bits
    v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

FormatError err(FormatError::Kind k, std::string what) {
  return FormatError{k, std::move(what), {}};
}

bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

}  // namespace

const char* format_error_name(FormatError::Kind k) {
  switch (k) {
    case FormatError::Kind::Io:
      return "io";
    case FormatError::Kind::HalfHeader:
      return "half-written header";
    case FormatError::Kind::ZeroFilled:
      return "zero-filled";
    case FormatError::Kind::BadMagic:
      return "bad magic";
    case FormatError::Kind::BadVersion:
      return "bad version";
    case FormatError::Kind::BadLength:
      return "bad length";
    case FormatError::Kind::BadCrc:
      return "bad crc";
    case FormatError::Kind::BadRecord:
      return "bad record";
    case FormatError::Kind::BadOffset:
      return "bad offset";
  }
  return "?";
}

std::string encode_segment_header(uint64_t base_offset) {
  std::string h;
  h.reserve(kSegmentHeaderSize);
  put<uint32_t>(h, kSegmentMagic);
  put<uint16_t>(h, kFormatVersion);
  put<uint16_t>(h, 0);
  put<uint64_t>(h, base_offset);
  put<uint32_t>(h, crc32c(h));
  return h;
}

Result<uint64_t, FormatError> decode_segment_header(std::string_view b) {
  using K = FormatError::Kind;
  if (b.size() < kSegmentHeaderSize) {
    return unexpected(err(all_zero(b) ? K::ZeroFilled : K::HalfHeader, "short segment header"));
  }
  b = b.substr(0, kSegmentHeaderSize);
  if (all_zero(b)) return unexpected(err(K::ZeroFilled, "zero-filled segment header"));
  if (get<uint32_t>(b.data()) != kSegmentMagic) {
    return unexpected(err(K::BadMagic, "not a segment file (bad magic)"));
  }
  if (get<uint32_t>(b.data() + 16) != crc32c(b.data(), 16)) {
    return unexpected(err(K::BadCrc, "segment header crc mismatch"));
  }
  if (get<uint16_t>(b.data() + 4) != kFormatVersion || get<uint16_t>(b.data() + 6) != 0) {
    return unexpected(err(K::BadVersion, "unsupported segment format version " +
                                             std::to_string(get<uint16_t>(b.data() + 4))));
  }
  return get<uint64_t>(b.data() + 8);
}

Result<BatchHeader, FormatError> decode_batch_header(std::string_view b) {
  using K = FormatError::Kind;
  if (b.size() < kBatchHeaderSize) {
    return unexpected(err(all_zero(b) ? K::ZeroFilled : K::HalfHeader, "short batch header"));
  }
  const char* p = b.data();
  BatchHeader h;
  const uint32_t magic = get<uint32_t>(p);
  if (magic != kBatchMagic) {
    if (all_zero(b.substr(0, kBatchHeaderSize))) return unexpected(err(K::ZeroFilled, "zeros"));
    return unexpected(err(K::BadMagic, "bad batch magic"));
  }
  h.crc = get<uint32_t>(p + 4);
  h.stored_len = get<uint32_t>(p + 8);
  h.flags = get<uint16_t>(p + 12);
  h.base_offset = get<uint64_t>(p + 16);
  h.count = get<uint32_t>(p + 24);
  h.raw_len = get<uint32_t>(p + 28);
  h.first_ts = get<int64_t>(p + 32);
  h.max_ts = get<int64_t>(p + 40);
  if ((h.flags & ~kBatchZstd) != 0 || get<uint16_t>(p + 14) != 0) {
    return unexpected(err(K::BadVersion, "unknown batch flags"));
  }
  if (h.stored_len > kMaxBatchBytes || h.raw_len > kMaxBatchBytes || h.count == 0 ||
      h.count > h.raw_len / 3 || (!(h.flags & kBatchZstd) && h.raw_len != h.stored_len)) {
    return unexpected(err(K::BadLength, "batch lengths out of range"));
  }
  return h;
}

Result<void, FormatError> decode_batch(const BatchHeader& h, std::string_view header_bytes,
                                       std::string_view body, std::string& scratch,
                                       std::vector<DecodedRecord>& out) {
  using K = FormatError::Kind;
  out.clear();
  uint32_t crc = crc32c(header_bytes.data() + 8, kBatchHeaderSize - 8);
  crc = crc32c_extend(crc, body.data(), body.size());
  if (crc != h.crc) return unexpected(err(K::BadCrc, "batch crc mismatch"));
  std::string_view raw = body;
  if (h.flags & kBatchZstd) {
    scratch.resize(h.raw_len);
    const size_t n = ZSTD_decompress(scratch.data(), scratch.size(), body.data(), body.size());
    if (ZSTD_isError(n) || n != h.raw_len) {
      return unexpected(err(K::BadRecord, "zstd body does not decompress"));
    }
    raw = scratch;
  }
  out.reserve(h.count);
  for (uint32_t i = 0; i < h.count; ++i) {
    uint64_t len, delta, ts;
    if (!get_varint(raw, len) || !get_varint(raw, delta) || !get_varint(raw, ts) ||
        len > raw.size() || delta != i) {
      return unexpected(err(K::BadRecord, "record " + std::to_string(i) + " does not parse"));
    }
    out.push_back({h.base_offset + i, h.first_ts + unzigzag(ts), raw.substr(0, len)});
    raw.remove_prefix(len);
  }
  if (!raw.empty()) return unexpected(err(K::BadRecord, "bytes after the last record"));
  return {};
}

BatchBuilder::BatchBuilder() = default;
BatchBuilder::~BatchBuilder() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zctx_)); }

void BatchBuilder::add(uint64_t offset, int64_t timestamp_ms, std::string_view payload) {
  if (count_ == 0) {
    base_ = offset;
    first_ts_ = max_ts_ = timestamp_ms;
  }
  max_ts_ = std::max(max_ts_, timestamp_ms);
  put_varint(body_, payload.size());
  put_varint(body_, count_);
  // Wrapping subtraction: any pair of int64 timestamps round-trips through the delta.
  put_varint(body_, zigzag(static_cast<int64_t>(static_cast<uint64_t>(timestamp_ms) -
                                                static_cast<uint64_t>(first_ts_))));
  body_.append(payload);
  ++count_;
}

int64_t BatchBuilder::finish(std::string& out, bool compress) {
  std::string_view stored = body_;
  uint16_t flags = 0;
  if (compress) {
    if (zctx_ == nullptr) zctx_ = ZSTD_createCCtx();
    zbuf_.resize(ZSTD_compressBound(body_.size()));
    const size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(zctx_), zbuf_.data(), zbuf_.size(),
                                       body_.data(), body_.size(), 1);
    if (!ZSTD_isError(n) && n < body_.size()) {  // only kept when it saves space
      stored = std::string_view(zbuf_.data(), n);
      flags = kBatchZstd;
    }
  }
  const size_t start = out.size();
  out.resize(start + kBatchHeaderSize);
  char* p = out.data() + start;
  put_at<uint32_t>(p, kBatchMagic);
  put_at<uint32_t>(p + 8, static_cast<uint32_t>(stored.size()));
  put_at<uint16_t>(p + 12, flags);
  put_at<uint16_t>(p + 14, 0);
  put_at<uint64_t>(p + 16, base_);
  put_at<uint32_t>(p + 24, count_);
  put_at<uint32_t>(p + 28, static_cast<uint32_t>(body_.size()));
  put_at<int64_t>(p + 32, first_ts_);
  put_at<int64_t>(p + 40, max_ts_);
  uint32_t crc = crc32c(p + 8, kBatchHeaderSize - 8);
  crc = crc32c_extend(crc, stored.data(), stored.size());
  put_at<uint32_t>(out.data() + start + 4, crc);
  out.append(stored);
  const int64_t max_ts = max_ts_;
  body_.clear();
  count_ = 0;
  return max_ts;
}

uint64_t encoded_bound(uint64_t n, uint64_t payload_bytes) {
  const uint64_t raw = payload_bytes + n * 30;  // three varints of at most 10 bytes each
  return raw + kBatchHeaderSize * (2 + raw / kTargetBatchBytes);
}

BatchReader::BatchReader(File& file, uint64_t pos, uint64_t end)
    : file_(file), pos_(pos), end_(end) {}

Result<std::string_view, FormatError> BatchReader::bytes(uint64_t pos, size_t len) {
  if (pos >= buf_pos_ && pos + len <= buf_pos_ + buf_.size()) {
    return std::string_view(buf_).substr(pos - buf_pos_, len);
  }
  // Read ahead: sequential scans touch each byte once, in 1 MiB reads.
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(std::max<size_t>(len, size_t{1} << 20), end_ - pos));
  buf_.resize(want);
  buf_pos_ = pos;
  auto n = file_.read_at(pos, buf_.data(), want);
  if (!n) {
    buf_.clear();
    return unexpected(FormatError{FormatError::Kind::Io, n.error().message, n.error()});
  }
  buf_.resize(*n);
  return std::string_view(buf_).substr(0, std::min(len, buf_.size()));
}

Result<bool, FormatError> BatchReader::next(Batch& out) {
  using K = FormatError::Kind;
  if (pos_ >= end_) return false;
  const size_t avail = static_cast<size_t>(std::min<uint64_t>(end_ - pos_, kBatchHeaderSize));
  auto hb = bytes(pos_, avail);
  if (!hb) return unexpected(hb.error());
  if (hb->size() < avail) return unexpected(err(K::HalfHeader, "file shorter than expected"));
  auto h = decode_batch_header(*hb);
  if (!h) return unexpected(h.error());
  if (expected_ && h->base_offset != *expected_) {
    return unexpected(err(K::BadOffset, "batch offset " + std::to_string(h->base_offset) +
                                            ", expected " + std::to_string(*expected_)));
  }
  const uint64_t size = kBatchHeaderSize + uint64_t{h->stored_len};
  if (size > end_ - pos_) return unexpected(err(K::BadLength, "batch runs past the end"));
  auto whole = bytes(pos_, static_cast<size_t>(size));
  if (!whole) return unexpected(whole.error());
  if (whole->size() < size) return unexpected(err(K::BadLength, "batch runs past the end"));
  const std::string_view header = whole->substr(0, kBatchHeaderSize);
  const std::string_view body = whole->substr(kBatchHeaderSize);
  if (decode_) {
    auto d = decode_batch(*h, header, body, scratch_, records_);
    if (!d) return unexpected(d.error());
  } else {
    uint32_t crc = crc32c(header.data() + 8, kBatchHeaderSize - 8);
    if (crc32c_extend(crc, body.data(), body.size()) != h->crc) {
      return unexpected(err(K::BadCrc, "batch crc mismatch"));
    }
    records_.clear();
  }
  out.header = *h;
  out.pos = pos_;
  out.size = static_cast<size_t>(size);
  out.records = &records_;
  pos_ += size;
  expected_ = h->base_offset + h->count;
  return true;
}

FsResult<void> MemoryFile::append(std::string_view d) {
  data_.append(d);
  return {};
}

FsResult<size_t> MemoryFile::read_at(uint64_t offset, char* buf, size_t len) {
  if (offset >= data_.size()) return size_t{0};
  const size_t n = std::min<uint64_t>(len, data_.size() - offset);
  std::memcpy(buf, data_.data() + offset, n);
  return n;
}

FsResult<void> MemoryFile::truncate(uint64_t length) {
  if (length < data_.size()) data_.resize(length);
  return {};
}

}  // namespace verge::store
