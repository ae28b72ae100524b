// MQTT 5.0 properties (spec 2.2.2): the allowed-property table, decoding with the duplicate and
// range checks, and encoding in identifier order.
#include <optional>

#include "mqtt/codec_internal.h"
#include "mqtt/topic.h"

namespace verge::mqtt::detail {
namespace {

// One bit per packet kind (bit n = PacketType n, bit 0 = will properties), spec 2.2.2.2 table.
// UNSUBSCRIBE (bit 10) allows only user properties, so it needs no name here.
constexpr uint16_t W = 1u << kWillProps;
constexpr uint16_t CONNECT = 1u << 1, CONNACK = 1u << 2, PUBLISH = 1u << 3, PUBACK = 1u << 4,
                   PUBREC = 1u << 5, PUBREL = 1u << 6, PUBCOMP = 1u << 7, SUBSCRIBE = 1u << 8,
                   SUBACK = 1u << 9, UNSUBACK = 1u << 11, DISCONNECT = 1u << 14, AUTH = 1u << 15;
constexpr uint16_t ACKS = PUBACK | PUBREC | PUBREL | PUBCOMP;

uint16_t allowed_in(uint32_t id) {
  switch (id) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x08:
    case 0x09:
      return PUBLISH | W;
    case 0x0B:
      return PUBLISH | SUBSCRIBE;
    case 0x11:
      return CONNECT | CONNACK | DISCONNECT;
    case 0x12:
    case 0x13:
      return CONNACK;
    case 0x15:
    case 0x16:
      return CONNECT | CONNACK | AUTH;
    case 0x17:
    case 0x19:
      return CONNECT;
    case 0x18:
      return W;
    case 0x1A:
      return CONNACK;
    case 0x1C:
      return CONNACK | DISCONNECT;
    case 0x1F:
      return CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH;
    case 0x21:
    case 0x22:
    case 0x27:
      return CONNECT | CONNACK;
    case 0x23:
      return PUBLISH;
    case 0x24:
    case 0x25:
    case 0x28:
    case 0x29:
    case 0x2A:
      return CONNACK;
    case 0x26:
      return 0xFFFF;  // user properties are allowed everywhere properties exist
    default:
      return 0;
  }
}

template <class T>
bool set_once(Reader& r, std::optional<T>& slot, T value) {
  if (slot) return r.fail(Reason::ProtocolError, "duplicate property");
  slot = value;
  return true;
}

bool read_u8(Reader& r, std::optional<uint8_t>& slot, bool boolean) {
  uint8_t v;
  if (!r.u8(v)) return false;
  if (boolean && v > 1) return r.fail(Reason::ProtocolError, "property value must be 0 or 1");
  return set_once(r, slot, v);
}

bool read_u16(Reader& r, std::optional<uint16_t>& slot, bool nonzero) {
  uint16_t v;
  if (!r.u16(v)) return false;
  if (nonzero && v == 0) return r.fail(Reason::ProtocolError, "property value must not be 0");
  return set_once(r, slot, v);
}

bool read_u32(Reader& r, std::optional<uint32_t>& slot, bool nonzero) {
  uint32_t v;
  if (!r.u32(v)) return false;
  if (nonzero && v == 0) return r.fail(Reason::ProtocolError, "property value must not be 0");
  return set_once(r, slot, v);
}

bool read_string(Reader& r, std::optional<std::string>& slot, bool utf8) {
  std::string_view v;
  if (!(utf8 ? r.utf8(v) : r.binary(v))) return false;
  if (slot) return r.fail(Reason::ProtocolError, "duplicate property");
  slot.emplace(v);
  return true;
}

bool read_one(Reader& r, uint32_t id, uint8_t kind, Properties& p) {
  const uint16_t allowed = allowed_in(id);
  if (allowed == 0) return r.fail(Reason::MalformedPacket, "unknown property identifier");
  if ((allowed & kind_bit(kind)) == 0) {
    return r.fail(Reason::ProtocolError, "property not allowed in this packet");
  }
  switch (id) {
    case 0x01:
      return read_u8(r, p.payload_format_indicator, true);
    case 0x02:
      return read_u32(r, p.message_expiry_interval, false);
    case 0x03:
      return read_string(r, p.content_type, true);
    case 0x08:
      if (!read_string(r, p.response_topic, true)) return false;
      if (!valid_topic_name(*p.response_topic)) {
        return r.fail(Reason::ProtocolError, "response topic is not a valid topic name");
      }
      return true;
    case 0x09:
      return read_string(r, p.correlation_data, false);
    case 0x0B: {
      uint32_t v;
      if (!r.varint(v)) return false;
      if (v == 0) return r.fail(Reason::ProtocolError, "subscription identifier 0");
      // SUBSCRIBE carries at most one; a PUBLISH to a client may carry several (3.8.2.1.2).
      if (kind == static_cast<uint8_t>(PacketType::Subscribe) &&
          !p.subscription_identifiers.empty()) {
        return r.fail(Reason::ProtocolError, "duplicate subscription identifier");
      }
      p.subscription_identifiers.push_back(v);
      return true;
    }
    case 0x11:
      return read_u32(r, p.session_expiry_interval, false);
    case 0x12:
      return read_string(r, p.assigned_client_identifier, true);
    case 0x13:
      return read_u16(r, p.server_keep_alive, false);
    case 0x15:
      return read_string(r, p.authentication_method, true);
    case 0x16:
      return read_string(r, p.authentication_data, false);
    case 0x17:
      return read_u8(r, p.request_problem_information, true);
    case 0x18:
      return read_u32(r, p.will_delay_interval, false);
    case 0x19:
      return read_u8(r, p.request_response_information, true);
    case 0x1A:
      return read_string(r, p.response_information, true);
    case 0x1C:
      return read_string(r, p.server_reference, true);
    case 0x1F:
      return read_string(r, p.reason_string, true);
    case 0x21:
      return read_u16(r, p.receive_maximum, true);
    case 0x22:
      return read_u16(r, p.topic_alias_maximum, false);
    case 0x23:
      return read_u16(r, p.topic_alias, true);
    case 0x24:
      return read_u8(r, p.maximum_qos, true);
    case 0x25:
      return read_u8(r, p.retain_available, true);
    case 0x26: {
      std::string_view k;
      std::string_view v;
      if (!r.utf8(k) || !r.utf8(v)) return false;
      p.user_properties.push_back(UserProperty{std::string(k), std::string(v)});
      return true;
    }
    case 0x27:
      return read_u32(r, p.maximum_packet_size, true);
    case 0x28:
      return read_u8(r, p.wildcard_subscription_available, true);
    case 0x29:
      return read_u8(r, p.subscription_identifier_available, true);
    case 0x2A:
      return read_u8(r, p.shared_subscription_available, true);
    default:
      return r.fail(Reason::MalformedPacket, "unknown property identifier");
  }
}

// Size helpers: identifier byte + value.
size_t sz(const std::optional<uint8_t>& v) { return v ? 2 : 0; }
size_t sz(const std::optional<uint16_t>& v) { return v ? 3 : 0; }
size_t sz(const std::optional<uint32_t>& v) { return v ? 5 : 0; }
size_t sz(const std::optional<std::string>& v) { return v ? 3 + v->size() : 0; }

void put(uint8_t id, const std::optional<uint8_t>& v, std::string& out) {
  if (!v) return;
  put_u8(id, out);
  put_u8(*v, out);
}
void put(uint8_t id, const std::optional<uint16_t>& v, std::string& out) {
  if (!v) return;
  put_u8(id, out);
  put_u16(*v, out);
}
void put(uint8_t id, const std::optional<uint32_t>& v, std::string& out) {
  if (!v) return;
  put_u8(id, out);
  put_u32(*v, out);
}
void put(uint8_t id, const std::optional<std::string>& v, std::string& out) {
  if (!v) return;
  put_u8(id, out);
  put_str(*v, out);
}

}  // namespace

bool read_properties(Reader& r, uint8_t kind, Properties& out) {
  uint32_t len;
  if (!r.varint(len)) return false;
  if (len > r.left()) return r.fail(Reason::MalformedPacket, "property length exceeds packet");
  Reader pr{r.p, r.p + len};
  r.p += len;
  while (pr.p != pr.end) {
    uint32_t id;
    if (!pr.varint(id) || !read_one(pr, id, kind, out)) {
      r.err = pr.err;
      return false;
    }
  }
  return true;
}

void write_properties(const Properties& p, size_t size, std::string& out) {
  put_varint(static_cast<uint32_t>(size), out);
  if (size == 0) return;
  put(0x01, p.payload_format_indicator, out);
  put(0x02, p.message_expiry_interval, out);
  put(0x03, p.content_type, out);
  put(0x08, p.response_topic, out);
  put(0x09, p.correlation_data, out);
  for (uint32_t id : p.subscription_identifiers) {
    put_u8(0x0B, out);
    put_varint(id, out);
  }
  put(0x11, p.session_expiry_interval, out);
  put(0x12, p.assigned_client_identifier, out);
  put(0x13, p.server_keep_alive, out);
  put(0x15, p.authentication_method, out);
  put(0x16, p.authentication_data, out);
  put(0x17, p.request_problem_information, out);
  put(0x18, p.will_delay_interval, out);
  put(0x19, p.request_response_information, out);
  put(0x1A, p.response_information, out);
  put(0x1C, p.server_reference, out);
  put(0x1F, p.reason_string, out);
  put(0x21, p.receive_maximum, out);
  put(0x22, p.topic_alias_maximum, out);
  put(0x23, p.topic_alias, out);
  put(0x24, p.maximum_qos, out);
  put(0x25, p.retain_available, out);
  for (const auto& up : p.user_properties) {
    put_u8(0x26, out);
    put_str(up.key, out);
    put_str(up.value, out);
  }
  put(0x27, p.maximum_packet_size, out);
  put(0x28, p.wildcard_subscription_available, out);
  put(0x29, p.subscription_identifier_available, out);
  put(0x2A, p.shared_subscription_available, out);
}

}  // namespace verge::mqtt::detail

namespace verge::mqtt {

size_t properties_size(const Properties& p) {
  using detail::sz;
  size_t n =
      sz(p.payload_format_indicator) + sz(p.message_expiry_interval) + sz(p.content_type) +
      sz(p.response_topic) + sz(p.correlation_data) + sz(p.session_expiry_interval) +
      sz(p.assigned_client_identifier) + sz(p.server_keep_alive) + sz(p.authentication_method) +
      sz(p.authentication_data) + sz(p.request_problem_information) + sz(p.will_delay_interval) +
      sz(p.request_response_information) + sz(p.response_information) + sz(p.server_reference) +
      sz(p.reason_string) + sz(p.receive_maximum) + sz(p.topic_alias_maximum) + sz(p.topic_alias) +
      sz(p.maximum_qos) + sz(p.retain_available) + sz(p.maximum_packet_size) +
      sz(p.wildcard_subscription_available) + sz(p.subscription_identifier_available) +
      sz(p.shared_subscription_available);
  for (uint32_t id : p.subscription_identifiers) n += 1 + varint_size(id);
  for (const auto& up : p.user_properties) n += 5 + up.key.size() + up.value.size();
  return n;
}

}  // namespace verge::mqtt
