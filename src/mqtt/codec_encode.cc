// Encoding: Packet -> bytes. Each packet computes its remaining length first so `out` is grown
// once; v5-only fields are dropped for v3.1.1, and v5 acks use the short forms when they can.
#include <variant>

#include "mqtt/codec_internal.h"

namespace verge::mqtt {
namespace {

using detail::put_str;
using detail::put_u16;
using detail::put_u8;

// Writes the fixed header and reserves room for the rest of the packet.
void header(uint8_t first, size_t remaining, std::string& out) {
  out.reserve(out.size() + 1 + varint_size(static_cast<uint32_t>(remaining)) + remaining);
  put_u8(first, out);
  put_varint(static_cast<uint32_t>(remaining), out);
}

// Length of a property block with its length prefix.
size_t block_size(size_t props) { return varint_size(static_cast<uint32_t>(props)) + props; }

// v3.1.1 CONNACK has six return codes; other v5 reasons map to the closest one.
uint8_t connack_code_v311(Reason r) {
  switch (r) {
    case Reason::Success:
      return 0;
    case Reason::UnsupportedProtocolVersion:
      return 1;
    case Reason::ClientIdentifierNotValid:
      return 2;
    case Reason::BadUserNameOrPassword:
    case Reason::BadAuthenticationMethod:
      return 4;
    case Reason::NotAuthorized:
    case Reason::Banned:
      return 5;
    default:
      return 3;  // server unavailable: the client may retry later
  }
}

// PUBLISH fixed + variable header; `extra` is what the caller appends next (the payload for
// encode(), nothing for writev callers that send the shared payload separately).
void write_publish_header(const Publish& p, Version version, size_t extra, std::string& out) {
  const bool v5 = version == Version::V5;
  const size_t ps = v5 ? properties_size(p.props) : 0;
  const size_t head = 2 + p.topic.size() + (p.qos > 0 ? 2 : 0) + (v5 ? block_size(ps) : 0);
  const size_t rl = head + p.payload.size();
  const uint8_t first =
      static_cast<uint8_t>(0x30 | (p.dup ? 0x08 : 0) | (p.qos & 0x03) << 1 | (p.retain ? 0x01 : 0));
  out.reserve(out.size() + 1 + varint_size(static_cast<uint32_t>(rl)) + head + extra);
  put_u8(first, out);
  put_varint(static_cast<uint32_t>(rl), out);
  put_str(p.topic, out);
  if (p.qos > 0) put_u16(p.packet_id, out);
  if (v5) detail::write_properties(p.props, ps, out);
}

struct Encoder {
  Version v;
  std::string& out;
  bool v5() const { return v == Version::V5; }

  void operator()(const Connect& c) {
    // CONNECT carries its own protocol version; the connection's is not known yet.
    const bool is5 = c.version == Version::V5;
    const size_t ps = is5 ? properties_size(c.props) : 0;
    size_t rl = 10 + (is5 ? block_size(ps) : 0) + 2 + c.client_id.size();
    size_t wps = 0;
    if (c.will) {
      wps = is5 ? properties_size(c.will->props) : 0;
      rl += (is5 ? block_size(wps) : 0) + 4 + c.will->topic.size() + c.will->payload.size();
    }
    if (c.username) rl += 2 + c.username->size();
    if (c.password) rl += 2 + c.password->size();
    header(0x10, rl, out);
    put_str("MQTT", out);
    put_u8(static_cast<uint8_t>(c.version), out);
    uint8_t flags = c.clean_start ? 0x02 : 0x00;
    if (c.will) {
      flags |= static_cast<uint8_t>(0x04 | (c.will->qos & 0x03) << 3 | (c.will->retain ? 0x20 : 0));
    }
    if (c.password) flags |= 0x40;
    if (c.username) flags |= 0x80;
    put_u8(flags, out);
    put_u16(c.keep_alive, out);
    if (is5) detail::write_properties(c.props, ps, out);
    put_str(c.client_id, out);
    if (c.will) {
      if (is5) detail::write_properties(c.will->props, wps, out);
      put_str(c.will->topic, out);
      put_str(c.will->payload, out);
    }
    if (c.username) put_str(*c.username, out);
    if (c.password) put_str(*c.password, out);
  }

  void operator()(const Connack& c) {
    const size_t ps = v5() ? properties_size(c.props) : 0;
    header(0x20, 2 + (v5() ? block_size(ps) : 0), out);
    put_u8(c.session_present ? 1 : 0, out);
    if (v5()) {
      put_u8(static_cast<uint8_t>(c.reason), out);
      detail::write_properties(c.props, ps, out);
    } else {
      put_u8(connack_code_v311(c.reason), out);
    }
  }

  void operator()(const Publish& p) {
    write_publish_header(p, v, p.payload.size(), out);
    out.append(p.payload);
  }

  void operator()(const Ack& a) {
    const uint8_t first = static_cast<uint8_t>(static_cast<uint8_t>(a.type) << 4 |
                                               (a.type == PacketType::Pubrel ? 0x02 : 0x00));
    const size_t ps = v5() ? properties_size(a.props) : 0;
    // Short forms (spec 3.4.2.1): omit the properties when empty, the reason when Success too.
    const bool with_reason = v5() && (ps > 0 || a.reason != Reason::Success);
    header(first, 2 + (with_reason ? 1 : 0) + (ps > 0 ? block_size(ps) : 0), out);
    put_u16(a.packet_id, out);
    if (with_reason) put_u8(static_cast<uint8_t>(a.reason), out);
    if (ps > 0) detail::write_properties(a.props, ps, out);
  }

  void operator()(const Subscribe& s) {
    const size_t ps = v5() ? properties_size(s.props) : 0;
    size_t rl = 2 + (v5() ? block_size(ps) : 0);
    for (const auto& f : s.topics) rl += 3 + f.filter.size();
    header(0x82, rl, out);
    put_u16(s.packet_id, out);
    if (v5()) detail::write_properties(s.props, ps, out);
    for (const auto& f : s.topics) {
      put_str(f.filter, out);
      uint8_t opts = f.qos & 0x03;
      if (v5()) {
        opts |= static_cast<uint8_t>((f.no_local ? 0x04 : 0) | (f.retain_as_published ? 0x08 : 0) |
                                     (f.retain_handling & 0x03) << 4);
      }
      put_u8(opts, out);
    }
  }

  void operator()(const Suback& s) {
    const size_t ps = v5() ? properties_size(s.props) : 0;
    header(0x90, 2 + (v5() ? block_size(ps) : 0) + s.reasons.size(), out);
    put_u16(s.packet_id, out);
    if (v5()) detail::write_properties(s.props, ps, out);
    for (Reason r : s.reasons) {
      uint8_t code = static_cast<uint8_t>(r);
      if (!v5() && code > 2) code = 0x80;  // v3.1.1 knows only granted QoS and failure
      put_u8(code, out);
    }
  }

  void operator()(const Unsubscribe& u) {
    const size_t ps = v5() ? properties_size(u.props) : 0;
    size_t rl = 2 + (v5() ? block_size(ps) : 0);
    for (const auto& f : u.filters) rl += 2 + f.size();
    header(0xA2, rl, out);
    put_u16(u.packet_id, out);
    if (v5()) detail::write_properties(u.props, ps, out);
    for (const auto& f : u.filters) put_str(f, out);
  }

  void operator()(const Unsuback& u) {
    if (!v5()) {  // v3.1.1 UNSUBACK is only the packet identifier
      header(0xB0, 2, out);
      put_u16(u.packet_id, out);
      return;
    }
    const size_t ps = properties_size(u.props);
    header(0xB0, 2 + block_size(ps) + u.reasons.size(), out);
    put_u16(u.packet_id, out);
    detail::write_properties(u.props, ps, out);
    for (Reason r : u.reasons) put_u8(static_cast<uint8_t>(r), out);
  }

  void operator()(const Pingreq&) { header(0xC0, 0, out); }
  void operator()(const Pingresp&) { header(0xD0, 0, out); }

  // DISCONNECT and AUTH: remaining length 0 for Success without properties (spec 3.14.2.1).
  void reason_only(uint8_t first, Reason reason, const Properties& props) {
    const size_t ps = properties_size(props);
    if (reason == Reason::Success && ps == 0) return header(first, 0, out);
    header(first, 1 + (ps > 0 ? block_size(ps) : 0), out);
    put_u8(static_cast<uint8_t>(reason), out);
    if (ps > 0) detail::write_properties(props, ps, out);
  }
  void operator()(const Disconnect& d) {
    if (!v5()) return header(0xE0, 0, out);
    reason_only(0xE0, d.reason, d.props);
  }
  void operator()(const Auth& a) {
    if (v5()) reason_only(0xF0, a.reason, a.props);  // AUTH does not exist in v3.1.1
  }
};

}  // namespace

void put_varint(uint32_t value, std::string& out) {
  do {
    uint8_t b = value & 0x7F;
    value >>= 7;
    if (value > 0) b |= 0x80;
    put_u8(b, out);
  } while (value > 0);
}

size_t varint_size(uint32_t value) {
  if (value < 128) return 1;
  if (value < 16384) return 2;
  if (value < 2097152) return 3;
  return 4;
}

void encode(const Packet& p, Version version, std::string& out) {
  std::visit(Encoder{version, out}, p);
}

void encode_publish_header(const Publish& p, Version version, std::string& out) {
  write_publish_header(p, version, 0, out);
}

}  // namespace verge::mqtt
