// Private helpers shared by the codec sources: a bounds-checked byte reader, UTF-8 validation,
// big-endian writers and the property block encoder/decoder. Not part of the public API.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "mqtt/codec.h"
#include "mqtt/packet.h"

namespace verge::mqtt::detail {

// Spec 1.5.4: well-formed UTF-8, no U+0000 and no surrogates (both Malformed Packet).
// Overlong forms and code points above U+10FFFF are ill-formed UTF-8 and rejected too.
inline bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    if (c >= 0x01 && c < 0x80) {  // ASCII fast path, the common case for topics
      ++p;
      continue;
    }
    if (c == 0x00) return false;
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte or 0xF8.. lead
    }
    if (static_cast<size_t>(end - p) <= n) return false;
    for (size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

// Cursor over a packet's bytes. Every read checks bounds; on failure `err` says why and the
// caller returns it. Reads hand out string_views into the frame, never copies.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  DecodeError err{};

  size_t left() const { return static_cast<size_t>(end - p); }
  bool fail(Reason r, const char* what) {
    err = DecodeError{r, what};
    return false;
  }
  bool u8(uint8_t& v) {
    if (p == end) return fail(Reason::MalformedPacket, "packet too short");
    v = *p++;
    return true;
  }
  bool u16(uint16_t& v) {
    if (left() < 2) return fail(Reason::MalformedPacket, "packet too short");
    v = static_cast<uint16_t>((p[0] << 8) | p[1]);
    p += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (left() < 4) return fail(Reason::MalformedPacket, "packet too short");
    v = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    p += 4;
    return true;
  }
  // Variable byte integer (spec 1.5.5): at most 4 bytes.
  bool varint(uint32_t& v) {
    v = 0;
    for (int i = 0; i < 4; ++i) {
      if (p == end) return fail(Reason::MalformedPacket, "truncated variable byte integer");
      const uint8_t b = *p++;
      v |= uint32_t{b & 0x7Fu} << (7 * i);
      if ((b & 0x80) == 0) return true;
    }
    return fail(Reason::MalformedPacket, "variable byte integer exceeds 4 bytes");
  }
  // Binary data: two-byte length then bytes; the length must fit in what is left.
  bool binary(std::string_view& v) {
    uint16_t n;
    if (!u16(n)) return false;
    if (left() < n) return fail(Reason::MalformedPacket, "string length exceeds packet");
    v = std::string_view(reinterpret_cast<const char*>(p), n);
    p += n;
    return true;
  }
  bool utf8(std::string_view& v) {
    if (!binary(v)) return false;
    if (!valid_utf8(v)) return fail(Reason::MalformedPacket, "invalid UTF-8 string");
    return true;
  }
  bool utf8(std::string& v) {
    std::string_view sv;
    if (!utf8(sv)) return false;
    v.assign(sv);
    return true;
  }
};

// Which packet a property block belongs to. The will properties of CONNECT get their own slot
// (0) so the allowed-property table (spec 2.2.2.2) can be one bitmask per property.
inline constexpr uint8_t kWillProps = 0;
inline uint16_t kind_bit(uint8_t kind) { return static_cast<uint16_t>(1u << kind); }
inline uint16_t kind_bit(PacketType t) { return kind_bit(static_cast<uint8_t>(t)); }

// Reads a property block (length varint + properties) for packet kind `kind` (a PacketType
// value or kWillProps). Rejects disallowed, duplicated and out-of-range properties.
bool read_properties(Reader& r, uint8_t kind, Properties& out);

// Writes the property block (length varint + properties). `size` is properties_size(props).
void write_properties(const Properties& props, size_t size, std::string& out);

inline void put_u8(uint8_t v, std::string& out) { out.push_back(static_cast<char>(v)); }
inline void put_u16(uint16_t v, std::string& out) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}
inline void put_u32(uint32_t v, std::string& out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}
// Strings and binary data: the caller keeps them under 65536 bytes (the field is 16-bit).
inline void put_str(std::string_view s, std::string& out) {
  put_u16(static_cast<uint16_t>(s.size()), out);
  out.append(s);
}

}  // namespace verge::mqtt::detail
