#include "store/tsdb_chunk.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "store/bitstream.h"
#include "store/crc32c.h"

namespace verge::store {
namespace {

constexpr uint8_t kVersion = 1;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(std::string_view b, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(b[at + i])} << (8 * i);
  return v;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
// Bounds-checked; false on truncation or more than 10 bytes.
bool get_varint(std::string_view b, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= b.size()) return false;
    const auto byte = static_cast<uint8_t>(b[pos++]);
    v |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// A signed value in one of four widths behind a unary prefix ('0' = zero), as Gorilla stores
// delta-of-delta timestamps; arithmetic is on uint64 so any int64 difference round-trips.
struct Buckets {
  unsigned w1, w2, w3;
};
constexpr Buckets kTsBuckets{7, 12, 20};     // ms jitter around a steady period
constexpr Buckets kValueBuckets{4, 10, 20};  // small integer steps (decimal floats, counters)

bool fits(int64_t v, unsigned bits) {
  const int64_t lim = int64_t{1} << (bits - 1);
  return v >= -lim && v < lim;
}
void write_signed(BitWriter& w, uint64_t u, const Buckets& b) {
  const auto v = static_cast<int64_t>(u);
  if (v == 0) {
    w.bit(false);
  } else if (fits(v, b.w1)) {
    w.write(0b10, 2);
    w.write(u, b.w1);
  } else if (fits(v, b.w2)) {
    w.write(0b110, 3);
    w.write(u, b.w2);
  } else if (fits(v, b.w3)) {
    w.write(0b1110, 4);
    w.write(u, b.w3);
  } else {
    w.write(0b1111, 4);
    w.write(u, 64);
  }
}
uint64_t sign_extend(uint64_t v, unsigned bits) {
  const uint64_t m = uint64_t{1} << (bits - 1);
  return (v ^ m) - m;
}
uint64_t read_signed(BitReader& r, const Buckets& b) {
  if (!r.bit()) return 0;
  if (!r.bit()) return sign_extend(r.read(b.w1), b.w1);
  if (!r.bit()) return sign_extend(r.read(b.w2), b.w2);
  if (!r.bit()) return sign_extend(r.read(b.w3), b.w3);
  return r.read(64);
}

// Timestamps: the first is in the header, then delta-of-delta per point.
class TsEncoder {
 public:
  void put(BitWriter& w, int64_t ts, bool first) {
    if (!first) {
      const uint64_t delta = static_cast<uint64_t>(ts) - prev_;
      write_signed(w, delta - delta_, kTsBuckets);
      delta_ = delta;
    }
    prev_ = static_cast<uint64_t>(ts);
  }

 private:
  uint64_t prev_ = 0, delta_ = 0;
};
class TsDecoder {
 public:
  explicit TsDecoder(int64_t first) : prev_(static_cast<uint64_t>(first)) {}
  int64_t get(BitReader& r, bool first) {
    if (!first) {
      delta_ += read_signed(r, kTsBuckets);
      prev_ += delta_;
    }
    return static_cast<int64_t>(prev_);
  }

 private:
  uint64_t prev_, delta_ = 0;
};

// Gorilla XOR: '0' same value; '10' meaningful bits inside the previous window; '11' + 5 bits
// leading zeros + 6 bits length (0 means 64) + the bits.
class XorEncoder {
 public:
  void put(BitWriter& w, double d) {
    const auto v = std::bit_cast<uint64_t>(d);
    if (first_) {
      w.write(v, 64);
      first_ = false;
    } else {
      const uint64_t x = v ^ prev_;
      if (x == 0) {
        w.bit(false);
      } else {
        auto lead = static_cast<unsigned>(std::countl_zero(x));
        const auto trail = static_cast<unsigned>(std::countr_zero(x));
        if (lead > 31) lead = 31;
        if (have_window_ && lead >= lead_ && trail >= trail_) {
          w.write(0b10, 2);
          w.write(x >> trail_, 64 - lead_ - trail_);
        } else {
          const unsigned len = 64 - lead - trail;
          w.write(0b11, 2);
          w.write(lead, 5);
          w.write(len & 63, 6);
          w.write(x >> trail, len);
          lead_ = lead;
          trail_ = trail;
          have_window_ = true;
        }
      }
    }
    prev_ = v;
  }

 private:
  uint64_t prev_ = 0;
  unsigned lead_ = 0, trail_ = 0;
  bool first_ = true, have_window_ = false;
};
class XorDecoder {
 public:
  // False on an impossible window (corrupt input).
  bool get(BitReader& r, double& out) {
    if (first_) {
      prev_ = r.read(64);
      first_ = false;
    } else if (r.bit()) {
      if (!r.bit()) {
        if (!have_window_) return false;
        const unsigned len = 64 - lead_ - trail_;
        prev_ ^= r.read(len) << trail_;
      } else {
        lead_ = static_cast<unsigned>(r.read(5));
        auto len = static_cast<unsigned>(r.read(6));
        if (len == 0) len = 64;
        if (lead_ + len > 64) return false;
        trail_ = 64 - lead_ - len;
        const uint64_t bits = r.read(len);
        prev_ ^= len == 64 ? bits : bits << trail_;
        have_window_ = true;
      }
    }
    out = std::bit_cast<double>(prev_);
    return true;
  }

 private:
  uint64_t prev_ = 0;
  unsigned lead_ = 0, trail_ = 0;
  bool first_ = true, have_window_ = false;
};

constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
constexpr uint8_t kMaxDecimals = 9;

// The fewest decimals d such that every value is exactly m / 10^d for an integer |m| < 2^53
// (checked bit for bit, so -0.0, NaN and inf never qualify); -1 if there is none.
int decimal_places(std::span<const double> values) {
  for (uint8_t d = 0; d <= kMaxDecimals; ++d) {
    bool all = true;
    for (double v : values) {
      const double m = v * kPow10[d];
      if (!(std::fabs(m) < 9007199254740992.0)) {
        all = false;
        break;
      }
      const double back = static_cast<double>(std::llround(m)) / kPow10[d];
      if (std::bit_cast<uint64_t>(back) != std::bit_cast<uint64_t>(v)) {
        all = false;
        break;
      }
    }
    if (all) return d;
  }
  return -1;
}

std::string finish(const ChunkHeader& h, std::string_view payload) {
  std::string out;
  out.reserve(kChunkHeaderSize + payload.size() + kChunkTrailerSize);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(h.type));
  out.push_back(static_cast<char>(h.encoding));
  out.push_back(static_cast<char>(h.decimals));
  put_u32(out, h.count);
  put_u64(out, static_cast<uint64_t>(h.first_ts));
  put_u64(out, static_cast<uint64_t>(h.last_ts));
  put_u32(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
  put_u32(out, crc32c(out));
  return out;
}

ChunkHeader header_for(ValueType type, std::span<const int64_t> ts) {
  ChunkHeader h;
  h.type = type;
  h.count = static_cast<uint32_t>(ts.size());
  h.first_ts = ts.front();
  h.last_ts = ts.back();
  return h;
}

Unexpected<Error> corrupt(std::string_view what) {
  return unexpected(Error{"corrupt chunk: " + std::string(what)});
}

}  // namespace

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::Float:
      return "float";
    case ValueType::Int:
      return "int";
    case ValueType::Bool:
      return "bool";
    case ValueType::String:
      return "string";
  }
  return "unknown";
}

std::string encode_float_chunk(std::span<const int64_t> ts, std::span<const double> values) {
  ChunkHeader h = header_for(ValueType::Float, ts);
  BitWriter w;
  TsEncoder te;
  const int d = decimal_places(values);
  if (d >= 0) {
    // Sensor readings are usually decimals (21.3, 21.4): as scaled integers a step of 0.1 is a
    // few bits, where its XOR flips most of the mantissa.
    h.encoding = static_cast<uint8_t>(FloatEncoding::Decimal);
    h.decimals = static_cast<uint8_t>(d);
    uint64_t prev = 0;
    for (size_t i = 0; i < ts.size(); ++i) {
      te.put(w, ts[i], i == 0);
      const auto m = static_cast<uint64_t>(std::llround(values[i] * kPow10[d]));
      if (i == 0) {
        w.write(m, 64);
      } else {
        write_signed(w, m - prev, kValueBuckets);
      }
      prev = m;
    }
  } else {
    XorEncoder xe;
    for (size_t i = 0; i < ts.size(); ++i) {
      te.put(w, ts[i], i == 0);
      xe.put(w, values[i]);
    }
  }
  return finish(h, w.bytes());
}

std::string encode_int_chunk(std::span<const int64_t> ts, std::span<const int64_t> values) {
  ChunkHeader h = header_for(ValueType::Int, ts);
  BitWriter w;
  TsEncoder te;
  // Delta-of-delta: a counter rising at a steady rate costs one bit per point.
  uint64_t prev = 0, delta = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    te.put(w, ts[i], i == 0);
    const auto v = static_cast<uint64_t>(values[i]);
    if (i == 0) {
      w.write(v, 64);
    } else {
      const uint64_t nd = v - prev;
      write_signed(w, nd - delta, kValueBuckets);
      delta = nd;
    }
    prev = v;
  }
  return finish(h, w.bytes());
}

std::string encode_bool_chunk(std::span<const int64_t> ts, std::span<const int64_t> values) {
  ChunkHeader h = header_for(ValueType::Bool, ts);
  BitWriter w;
  TsEncoder te;
  for (size_t i = 0; i < ts.size(); ++i) {
    te.put(w, ts[i], i == 0);
    w.bit(values[i] != 0);
  }
  return finish(h, w.bytes());
}

std::string encode_string_chunk(std::span<const int64_t> ts, std::span<const std::string> values) {
  ChunkHeader h = header_for(ValueType::String, ts);
  // Dictionary in order of first use; states and labels repeat, so each point is an index.
  std::vector<std::string_view> dict;
  std::vector<uint32_t> idx(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t j = 0;
    while (j < dict.size() && dict[j] != values[i]) ++j;
    if (j == dict.size()) dict.push_back(values[i]);
    idx[i] = j;
  }
  std::string payload;
  put_varint(payload, dict.size());
  for (auto s : dict) {
    put_varint(payload, s.size());
    payload.append(s);
  }
  const auto width = static_cast<unsigned>(std::bit_width(dict.size() - 1));
  BitWriter w;
  TsEncoder te;
  for (size_t i = 0; i < ts.size(); ++i) {
    te.put(w, ts[i], i == 0);
    if (i > 0 && idx[i] == idx[i - 1]) {
      w.bit(false);
    } else {
      if (i > 0) w.bit(true);
      w.write(idx[i], width);
    }
  }
  payload.append(w.bytes());
  return finish(h, payload);
}

Result<size_t> chunk_size(std::string_view bytes) {
  if (bytes.size() < kChunkHeaderSize) return corrupt("truncated header");
  return kChunkHeaderSize + get_le(bytes, 24, 4) + kChunkTrailerSize;
}

Result<ChunkHeader> read_chunk_header(std::string_view bytes) {
  auto size = chunk_size(bytes);
  if (!size) return unexpected(size.error());
  if (bytes.size() < *size) return corrupt("truncated");
  if (bytes.size() > *size) return corrupt("trailing bytes");
  const size_t body = *size - kChunkTrailerSize;
  if (crc32c(bytes.substr(0, body)) != get_le(bytes, body, 4)) return corrupt("CRC mismatch");
  if (static_cast<uint8_t>(bytes[0]) != kVersion) return corrupt("unknown version");
  ChunkHeader h;
  const auto type = static_cast<uint8_t>(bytes[1]);
  if (type < 1 || type > 4) return corrupt("unknown value type");
  h.type = static_cast<ValueType>(type);
  h.encoding = static_cast<uint8_t>(bytes[2]);
  h.decimals = static_cast<uint8_t>(bytes[3]);
  if (h.type == ValueType::Float) {
    if (h.encoding > 1) return corrupt("unknown float encoding");
    if (h.decimals > kMaxDecimals) return corrupt("too many decimals");
  } else if (h.encoding != 0 || h.decimals != 0) {
    return corrupt("encoding set on a non-float chunk");
  }
  h.count = static_cast<uint32_t>(get_le(bytes, 4, 4));
  if (h.count == 0 || h.count > kMaxChunkPoints) return corrupt("bad point count");
  h.first_ts = static_cast<int64_t>(get_le(bytes, 8, 8));
  h.last_ts = static_cast<int64_t>(get_le(bytes, 16, 8));
  if (h.last_ts < h.first_ts) return corrupt("last timestamp before first");
  h.payload_size = static_cast<uint32_t>(get_le(bytes, 24, 4));
  return h;
}

Result<DecodedChunk> decode_chunk(std::string_view bytes) {
  auto hr = read_chunk_header(bytes);
  if (!hr) return unexpected(hr.error());
  const ChunkHeader& h = *hr;
  std::string_view payload = bytes.substr(kChunkHeaderSize, h.payload_size);
  DecodedChunk c;
  c.type = h.type;

  std::vector<std::string> dict;
  if (h.type == ValueType::String) {
    size_t pos = 0;
    uint64_t n = 0;
    if (!get_varint(payload, pos, n) || n == 0 || n > h.count) return corrupt("bad dictionary");
    dict.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t len = 0;
      if (!get_varint(payload, pos, len) || len > payload.size() - pos) {
        return corrupt("bad dictionary entry");
      }
      dict.emplace_back(payload.substr(pos, len));
      pos += len;
    }
    payload.remove_prefix(pos);
  }

  // Every point takes at least two bits, so the payload bounds what is worth reserving.
  const size_t plausible = std::min<size_t>(h.count, payload.size() * 4 + 1);
  c.ts.reserve(plausible);
  BitReader r(payload);
  TsDecoder td(h.first_ts);
  XorDecoder xd;
  uint64_t prev = 0, delta = 0;
  const auto width = dict.empty() ? 0u : static_cast<unsigned>(std::bit_width(dict.size() - 1));
  uint64_t index = 0;
  for (uint32_t i = 0; i < h.count; ++i) {
    const bool first = i == 0;
    const int64_t t = td.get(r, first);
    if (!first && t < c.ts.back()) return corrupt("timestamps out of order");
    switch (h.type) {
      case ValueType::Float: {
        double v = 0;
        if (h.encoding == static_cast<uint8_t>(FloatEncoding::Decimal)) {
          prev = first ? r.read(64) : prev + read_signed(r, kValueBuckets);
          v = static_cast<double>(static_cast<int64_t>(prev)) / kPow10[h.decimals];
        } else if (!xd.get(r, v)) {
          return corrupt("bad XOR window");
        }
        c.floats.push_back(v);
        break;
      }
      case ValueType::Int:
        if (first) {
          prev = r.read(64);
        } else {
          delta += read_signed(r, kValueBuckets);
          prev += delta;
        }
        c.ints.push_back(static_cast<int64_t>(prev));
        break;
      case ValueType::Bool:
        c.ints.push_back(r.bit() ? 1 : 0);
        break;
      case ValueType::String:
        if (first || r.bit()) index = r.read(width);
        if (index >= dict.size()) return corrupt("dictionary index out of range");
        c.strings.push_back(dict[index]);
        break;
    }
    if (!r.ok()) return corrupt("truncated payload");
    c.ts.push_back(t);
  }
  if (c.ts.back() != h.last_ts) return corrupt("last timestamp does not match the header");
  if (r.remaining_bits() >= 8) return corrupt("trailing payload bytes");
  return c;
}

}  // namespace verge::store
