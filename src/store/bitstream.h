// Bit-level writer and reader for the time-series chunk codec (store/tsdb_chunk.h). Bits are
// packed most significant first. The reader is bounds-checked: reading past the end sets a sticky
// failure flag and yields zeros, so a decoder of outside bytes checks ok() once per value instead
// of trusting lengths. Header-only because both sit on the hot encode/decode path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace verge::store {

class BitWriter {
 public:
  // Appends the low `n` bits of `v` (n <= 64).
  void write(uint64_t v, unsigned n) {
    if (n == 0) return;
    if (n < 64) v &= (uint64_t{1} << n) - 1;
    while (n > 0) {
      if (free_ == 0) {
        out_.push_back('\0');
        free_ = 8;
      }
      const unsigned take = n < free_ ? n : free_;
      const uint64_t part = (v >> (n - take)) & ((uint64_t{1} << take) - 1);
      out_.back() = static_cast<char>(static_cast<uint8_t>(out_.back()) |
                                      static_cast<uint8_t>(part << (free_ - take)));
      free_ -= take;
      n -= take;
    }
  }
  void bit(bool b) { write(b ? 1 : 0, 1); }
  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  unsigned free_ = 0;  // unused low bits in the last byte
};

class BitReader {
 public:
  explicit BitReader(std::string_view data) : data_(data) {}

  // Reads `n` bits (n <= 64); past the end: returns 0 and ok() turns false for good.
  uint64_t read(unsigned n) {
    if (n == 0) return 0;
    if (n > remaining_bits()) {
      failed_ = true;
      pos_ = data_.size() * 8;
      return 0;
    }
    uint64_t v = 0;
    while (n > 0) {
      const auto byte = static_cast<uint8_t>(data_[pos_ >> 3]);
      const unsigned used = pos_ & 7;
      const unsigned avail = 8 - used;
      const unsigned take = n < avail ? n : avail;
      const unsigned shift = avail - take;
      const uint64_t part = (byte >> shift) & ((1u << take) - 1);
      v = (take == 64 ? 0 : (v << take)) | part;
      pos_ += take;
      n -= take;
    }
    return v;
  }
  bool bit() { return read(1) != 0; }
  bool ok() const { return !failed_; }
  uint64_t remaining_bits() const { return data_.size() * 8 - pos_; }

 private:
  std::string_view data_;
  uint64_t pos_ = 0;  // in bits
  bool failed_ = false;
};

}  // namespace verge::store
