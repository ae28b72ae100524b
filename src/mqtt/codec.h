// MQTT 3.1.1 / 5.0 codec: pure functions from bytes to packets and back. No I/O, no allocation
// beyond the packet values themselves. Every decode error carries the v5 reason code the spec
// requires for the DISCONNECT (Malformed Packet 0x81 or Protocol Error 0x82) and a short text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"
#include "mqtt/packet.h"

namespace verge::mqtt {

struct DecodeError {
  Reason reason = Reason::MalformedPacket;  // MalformedPacket, ProtocolError,
                                            // UnsupportedProtocolVersion, PacketTooLarge
  const char* what = "";  // static string, e.g. "remaining length exceeds 4 bytes"
};

// The fixed header of the next packet in a byte stream.
struct FrameHeader {
  uint8_t first_byte = 0;         // packet type (high nibble) and flags (low nibble)
  uint32_t remaining_length = 0;  // bytes after the fixed header
  uint8_t header_size = 0;        // 2..5
  size_t total_size() const { return header_size + size_t{remaining_length}; }
  PacketType type() const { return static_cast<PacketType>(first_byte >> 4); }
};

enum class FrameStatus : uint8_t { Complete, NeedMore, Malformed };

// Looks at the start of `buf`. Complete: `out` is filled (the whole packet may still be
// incomplete: compare total_size() with buf.size()). NeedMore: fewer than 5 header bytes and the
// remaining-length varint is not finished. Malformed: varint longer than 4 bytes.
FrameStatus peek_frame(std::span<const uint8_t> buf, FrameHeader& out);

// Decodes one whole packet (fixed header included; `frame.size()` == header.total_size()).
// `version` is the connection's protocol version; CONNECT carries its own and ignores it.
// Validates everything the spec makes a Malformed Packet or Protocol Error: reserved flags, QoS 3,
// packet id 0 where one is required, empty SUBSCRIBE/UNSUBSCRIBE, invalid UTF-8 (including
// U+0000 and surrogates) in UTF-8 strings, properties not allowed for the packet type,
// duplicated properties, zero subscription identifier, topic names with wildcards, etc.
Result<Packet, DecodeError> decode(std::span<const uint8_t> frame, Version version);

// Appends the encoding of `p` for `version` to `out`. v5-only fields are dropped for v3.1.1.
// The caller is responsible for sending only packets valid for its role.
void encode(const Packet& p, Version version, std::string& out);

// Size in bytes of the encoded properties block of `props` (without its length prefix), so a
// sender can check Maximum Packet Size before encoding.
size_t properties_size(const Properties& props);

// Encodes the PUBLISH fixed header + variable header (topic, packet id, properties) without the
// payload, so the payload bytes can be shared between subscribers and sent with writev.
void encode_publish_header(const Publish& p, Version version, std::string& out);

// Variable byte integer helpers (spec 1.5.5).
void put_varint(uint32_t value, std::string& out);
size_t varint_size(uint32_t value);

}  // namespace verge::mqtt
