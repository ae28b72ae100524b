// Decoding: bytes -> Packet, with every Malformed Packet / Protocol Error check of spec 3.x.
// PUBLISH without properties decodes without allocating: topic and payload view the frame.
#include <initializer_list>
#include <utility>

#include "mqtt/codec_internal.h"
#include "mqtt/topic.h"

namespace verge::mqtt {
namespace {

using detail::Reader;

Unexpected<DecodeError> fail(Reason r, const char* what) {
  return unexpected(DecodeError{r, what});
}
Unexpected<DecodeError> fail(const Reader& r) { return unexpected(r.err); }

bool one_of(uint8_t v, std::initializer_list<uint8_t> set) {
  for (uint8_t s : set) {
    if (s == v) return true;
  }
  return false;
}

// Reason codes each v5 packet may carry (spec 2.4 table and the per-packet sections).
bool reason_allowed(PacketType t, uint8_t v) {
  switch (t) {
    case PacketType::Connack:
      return v == 0x00 ||
             one_of(v, {0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A,
                        0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F});
    case PacketType::Puback:
    case PacketType::Pubrec:
      return one_of(v, {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99});
    case PacketType::Pubrel:
    case PacketType::Pubcomp:
      return v == 0x00 || v == 0x92;
    case PacketType::Suback:
      return one_of(v, {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2});
    case PacketType::Unsuback:
      return one_of(v, {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91});
    case PacketType::Disconnect:
      return v == 0x00 || v == 0x04 || v == 0x80 || v == 0x81 || v == 0x82 || v == 0x83 ||
             v == 0x87 || v == 0x89 || (v >= 0x8B && v <= 0x90) || (v >= 0x93 && v <= 0xA2);
    case PacketType::Auth:
      return v == 0x00 || v == 0x18 || v == 0x19;
    default:
      return false;
  }
}

bool read_reason(Reader& r, PacketType t, Reason& out) {
  uint8_t v;
  if (!r.u8(v)) return false;
  if (!reason_allowed(t, v)) return r.fail(Reason::MalformedPacket, "invalid reason code");
  out = static_cast<Reason>(v);
  return true;
}

bool read_packet_id(Reader& r, uint16_t& id) {
  if (!r.u16(id)) return false;
  if (id == 0) return r.fail(Reason::ProtocolError, "packet identifier 0");
  return true;
}

bool read_props(Reader& r, Version v, PacketType t, Properties& props) {
  return v != Version::V5 || detail::read_properties(r, static_cast<uint8_t>(t), props);
}

// Trailing bytes after everything the packet defines are malformed.
Result<Packet, DecodeError> finish(const Reader& r, Packet&& p) {
  if (r.left() != 0) return fail(Reason::MalformedPacket, "unexpected bytes after packet");
  return std::move(p);
}

Result<Packet, DecodeError> decode_connect(Reader& r) {
  std::string_view name;
  uint8_t level;
  if (!r.binary(name) || !r.u8(level)) return fail(r);
  // A non-"MQTT" name is most likely MQTT 3.1 ("MQIsdp"): answer it like an unknown level.
  if (name != "MQTT") return fail(Reason::UnsupportedProtocolVersion, "protocol name is not MQTT");
  if (level != 4 && level != 5) {
    return fail(Reason::UnsupportedProtocolVersion, "unsupported protocol level");
  }
  Connect c;
  c.version = static_cast<Version>(level);
  uint8_t cf;
  if (!r.u8(cf) || !r.u16(c.keep_alive)) return fail(r);
  if (cf & 0x01) return fail(Reason::MalformedPacket, "reserved connect flag set");
  const bool will = cf & 0x04;
  const uint8_t will_qos = (cf >> 3) & 0x03;
  const bool will_retain = cf & 0x20;
  const bool has_password = cf & 0x40;
  const bool has_username = cf & 0x80;
  if (!will && (will_qos != 0 || will_retain)) {
    return fail(Reason::MalformedPacket, "will qos/retain without will flag");
  }
  if (will_qos == 3) return fail(Reason::MalformedPacket, "will qos 3");
  if (c.version == Version::V311 && has_password && !has_username) {
    return fail(Reason::MalformedPacket, "password without user name");
  }
  c.clean_start = cf & 0x02;
  if (!read_props(r, c.version, PacketType::Connect, c.props)) return fail(r);
  if (!r.utf8(c.client_id)) return fail(r);
  if (will) {
    Will& w = c.will.emplace();
    w.qos = will_qos;
    w.retain = will_retain;
    if (c.version == Version::V5 && !detail::read_properties(r, detail::kWillProps, w.props)) {
      return fail(r);
    }
    std::string_view payload;
    if (!r.utf8(w.topic) || !r.binary(payload)) return fail(r);
    if (!valid_topic_name(w.topic)) return fail(Reason::MalformedPacket, "invalid will topic");
    w.payload.assign(payload);
  }
  if (has_username && !r.utf8(c.username.emplace())) return fail(r);
  if (has_password) {
    std::string_view pw;
    if (!r.binary(pw)) return fail(r);
    c.password.emplace(pw);
  }
  return finish(r, std::move(c));
}

// v3.1.1 CONNACK return codes 0..5 (spec 3.1.1 table 3.1).
constexpr Reason kConnackV3[] = {
    Reason::Success,           Reason::UnsupportedProtocolVersion, Reason::ClientIdentifierNotValid,
    Reason::ServerUnavailable, Reason::BadUserNameOrPassword,      Reason::NotAuthorized};

Result<Packet, DecodeError> decode_connack(Reader& r, Version v) {
  Connack c;
  uint8_t ack_flags;
  uint8_t code;
  if (!r.u8(ack_flags) || !r.u8(code)) return fail(r);
  if (ack_flags & 0xFE) return fail(Reason::MalformedPacket, "reserved CONNACK flags set");
  c.session_present = ack_flags & 0x01;
  if (v == Version::V311) {
    if (code > 5) return fail(Reason::MalformedPacket, "invalid CONNACK return code");
    c.reason = kConnackV3[code];
  } else {
    if (!reason_allowed(PacketType::Connack, code)) {
      return fail(Reason::MalformedPacket, "invalid reason code");
    }
    c.reason = static_cast<Reason>(code);
    if (!read_props(r, v, PacketType::Connack, c.props)) return fail(r);
  }
  return finish(r, std::move(c));
}

Result<Packet, DecodeError> decode_publish(Reader& r, Version v, uint8_t flags) {
  Publish p;
  p.qos = (flags >> 1) & 0x03;
  p.retain = flags & 0x01;
  p.dup = flags & 0x08;
  if (p.qos == 3) return fail(Reason::MalformedPacket, "PUBLISH qos 3");
  if (p.dup && p.qos == 0) return fail(Reason::MalformedPacket, "PUBLISH dup with qos 0");
  if (!r.utf8(p.topic)) return fail(r);
  if (p.qos > 0 && !read_packet_id(r, p.packet_id)) return fail(r);
  if (!read_props(r, v, PacketType::Publish, p.props)) return fail(r);
  if (p.topic.empty()) {
    // Spec 3.3.2.3.4: a v5 sender may omit the topic when it sends a topic alias instead.
    if (!p.props.topic_alias) return fail(Reason::ProtocolError, "empty topic name");
  } else if (!valid_topic_name(p.topic)) {
    return fail(Reason::MalformedPacket, "wildcard in topic name");
  }
  p.payload = std::string_view(reinterpret_cast<const char*>(r.p), r.left());
  return Packet{std::move(p)};
}

// PUBACK, PUBREC, PUBREL, PUBCOMP. v5 allows short forms (spec 3.4.2.1): remaining length 2
// means Success without properties, 3 means a reason code without properties.
Result<Packet, DecodeError> decode_ack(Reader& r, Version v, PacketType t) {
  Ack a;
  a.type = t;
  if (!read_packet_id(r, a.packet_id)) return fail(r);
  if (v == Version::V5 && r.left() > 0) {
    if (!read_reason(r, t, a.reason)) return fail(r);
    if (r.left() > 0 && !read_props(r, v, t, a.props)) return fail(r);
  }
  return finish(r, std::move(a));
}

Result<Packet, DecodeError> decode_subscribe(Reader& r, Version v) {
  Subscribe s;
  if (!read_packet_id(r, s.packet_id)) return fail(r);
  if (!read_props(r, v, PacketType::Subscribe, s.props)) return fail(r);
  if (r.left() == 0) return fail(Reason::ProtocolError, "SUBSCRIBE without topic filters");
  while (r.left() > 0) {
    TopicFilter& f = s.topics.emplace_back();
    uint8_t opts;
    if (!r.utf8(f.filter) || !r.u8(opts)) return fail(r);
    const uint8_t reserved = v == Version::V5 ? 0xC0 : 0xFC;
    if (opts & reserved) return fail(Reason::MalformedPacket, "reserved subscription option bits");
    f.qos = opts & 0x03;
    if (f.qos == 3) return fail(Reason::MalformedPacket, "subscription qos 3");
    if (v == Version::V5) {
      f.no_local = opts & 0x04;
      f.retain_as_published = opts & 0x08;
      f.retain_handling = (opts >> 4) & 0x03;
      if (f.retain_handling == 3) return fail(Reason::MalformedPacket, "retain handling 3");
      if (f.no_local && f.filter.starts_with("$share/")) {
        return fail(Reason::ProtocolError, "no local on a shared subscription");
      }
    }
    // Filter syntax is not checked here: an invalid filter gets a failure code in SUBACK.
  }
  return Packet{std::move(s)};
}

Result<Packet, DecodeError> decode_suback(Reader& r, Version v) {
  Suback s;
  if (!read_packet_id(r, s.packet_id)) return fail(r);
  if (!read_props(r, v, PacketType::Suback, s.props)) return fail(r);
  if (r.left() == 0) return fail(Reason::ProtocolError, "SUBACK without reason codes");
  s.reasons.reserve(r.left());
  while (r.left() > 0) {
    const uint8_t code = *r.p++;
    const bool ok =
        v == Version::V5 ? reason_allowed(PacketType::Suback, code) : (code <= 2 || code == 0x80);
    if (!ok) return fail(Reason::MalformedPacket, "invalid SUBACK return code");
    s.reasons.push_back(static_cast<Reason>(code));
  }
  return Packet{std::move(s)};
}

Result<Packet, DecodeError> decode_unsubscribe(Reader& r, Version v) {
  Unsubscribe u;
  if (!read_packet_id(r, u.packet_id)) return fail(r);
  if (!read_props(r, v, PacketType::Unsubscribe, u.props)) return fail(r);
  if (r.left() == 0) return fail(Reason::ProtocolError, "UNSUBSCRIBE without topic filters");
  while (r.left() > 0) {
    if (!r.utf8(u.filters.emplace_back())) return fail(r);
  }
  return Packet{std::move(u)};
}

Result<Packet, DecodeError> decode_unsuback(Reader& r, Version v) {
  Unsuback u;
  if (!read_packet_id(r, u.packet_id)) return fail(r);
  if (v == Version::V5) {
    if (!read_props(r, v, PacketType::Unsuback, u.props)) return fail(r);
    if (r.left() == 0) return fail(Reason::ProtocolError, "UNSUBACK without reason codes");
    u.reasons.reserve(r.left());
    while (r.left() > 0) {
      Reason reason;
      if (!read_reason(r, PacketType::Unsuback, reason)) return fail(r);
      u.reasons.push_back(reason);
    }
  }
  return finish(r, std::move(u));
}

// DISCONNECT and AUTH: remaining length 0 means Success without properties (v5).
template <class T>
Result<Packet, DecodeError> decode_reason_only(Reader& r, Version v, PacketType t) {
  T p;
  if (v == Version::V5 && r.left() > 0) {
    if (!read_reason(r, t, p.reason)) return fail(r);
    if (r.left() > 0 && !read_props(r, v, t, p.props)) return fail(r);
  }
  return finish(r, std::move(p));
}

}  // namespace

FrameStatus peek_frame(std::span<const uint8_t> buf, FrameHeader& out) {
  if (buf.size() < 2) return FrameStatus::NeedMore;
  uint32_t len = 0;
  for (size_t i = 1; i <= 4; ++i) {
    if (i >= buf.size()) return FrameStatus::NeedMore;
    const uint8_t b = buf[i];
    len |= uint32_t{b & 0x7Fu} << (7 * (i - 1));
    if ((b & 0x80) == 0) {
      out.first_byte = buf[0];
      out.remaining_length = len;
      out.header_size = static_cast<uint8_t>(i + 1);
      return FrameStatus::Complete;
    }
  }
  return FrameStatus::Malformed;
}

Result<Packet, DecodeError> decode(std::span<const uint8_t> frame, Version version) {
  FrameHeader h;
  if (peek_frame(frame, h) != FrameStatus::Complete) {
    return fail(Reason::MalformedPacket, "invalid fixed header");
  }
  if (h.total_size() != frame.size()) {
    return fail(Reason::MalformedPacket, "frame size does not match remaining length");
  }
  Reader r{frame.data() + h.header_size, frame.data() + frame.size()};
  const uint8_t flags = h.first_byte & 0x0F;
  const PacketType t = h.type();
  // Fixed-header flags are reserved (spec 2.1.3): 0b0010 for PUBREL/SUBSCRIBE/UNSUBSCRIBE,
  // 0 for the rest; PUBLISH carries dup/qos/retain.
  if (t != PacketType::Publish) {
    const bool two =
        t == PacketType::Pubrel || t == PacketType::Subscribe || t == PacketType::Unsubscribe;
    if (flags != (two ? 0x02 : 0x00)) return fail(Reason::MalformedPacket, "reserved flags set");
  }
  switch (t) {
    case PacketType::Connect:
      return decode_connect(r);
    case PacketType::Connack:
      return decode_connack(r, version);
    case PacketType::Publish:
      return decode_publish(r, version, flags);
    case PacketType::Puback:
    case PacketType::Pubrec:
    case PacketType::Pubrel:
    case PacketType::Pubcomp:
      return decode_ack(r, version, t);
    case PacketType::Subscribe:
      return decode_subscribe(r, version);
    case PacketType::Suback:
      return decode_suback(r, version);
    case PacketType::Unsubscribe:
      return decode_unsubscribe(r, version);
    case PacketType::Unsuback:
      return decode_unsuback(r, version);
    case PacketType::Pingreq:
      return finish(r, Pingreq{});
    case PacketType::Pingresp:
      return finish(r, Pingresp{});
    case PacketType::Disconnect:
      return decode_reason_only<Disconnect>(r, version, t);
    case PacketType::Auth:
      if (version != Version::V5) return fail(Reason::MalformedPacket, "AUTH in MQTT 3.1.1");
      return decode_reason_only<Auth>(r, version, t);
  }
  return fail(Reason::MalformedPacket, "reserved packet type");
}

}  // namespace verge::mqtt
