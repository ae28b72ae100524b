// Little-endian integers and varints for the time-series formats: appends to a string, and a
// bounds-checked reader whose failure is sticky (check ok() after a group of reads).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace verge::store::tsdb_detail {

inline void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

class ByteReader {
 public:
  explicit ByteReader(std::string_view b) : b_(b) {}
  uint64_t le(int bytes) {
    if (!need(static_cast<size_t>(bytes))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(b_[pos_++])} << (8 * i);
    return v;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      const auto byte = static_cast<uint8_t>(b_[pos_++]);
      v |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return v;
    }
    failed_ = true;
    return 0;
  }
  std::string_view bytes(uint64_t n) {
    if (n > b_.size() - pos_ || !need(static_cast<size_t>(n))) {
      failed_ = true;
      return {};
    }
    auto s = b_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  bool ok() const { return !failed_; }
  size_t pos() const { return pos_; }
  size_t left() const { return b_.size() - pos_; }

 private:
  bool need(size_t n) {
    if (failed_ || n > b_.size() - pos_) {
      failed_ = true;
      return false;
    }
    return true;
  }
  std::string_view b_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace verge::store::tsdb_detail
