#include "mqtt/journal_codec.h"

#include <cstring>

namespace verge::mqtt {

namespace {

// Little-endian varints and length-prefixed strings: compact for the small numbers that dominate.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_str(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}
void put_u8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool ok() const { return ok_; }
  void invalidate() { fail<int>(); }
  bool done() const { return pos_ == b_.size(); }
  uint8_t u8() {
    if (pos_ >= b_.size()) return fail<uint8_t>();
    return static_cast<uint8_t>(b_[pos_++]);
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) return fail<uint64_t>();
      const auto c = static_cast<uint8_t>(b_[pos_++]);
      v |= uint64_t{c & 0x7Fu} << shift;
      if ((c & 0x80) == 0) return v;
    }
    return fail<uint64_t>();
  }
  template <class T>
  T bounded(uint64_t max) {
    const uint64_t v = varint();
    if (v > max) return fail<T>();
    return static_cast<T>(v);
  }
  std::string str() {
    const uint64_t n = varint();
    if (!ok_ || n > b_.size() - pos_) return fail<std::string>();
    std::string s(b_.substr(pos_, n));
    pos_ += n;
    return s;
  }

 private:
  template <class T>
  T fail() {
    ok_ = false;
    pos_ = b_.size();
    return T{};
  }
  std::string_view b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void put_message(std::string& out, const Message& m, const Clocks& clocks) {
  put_str(out, m.topic());
  put_str(out, m.payload());
  const ForwardedProperties* p = m.props();
  put_u8(out, static_cast<uint8_t>(m.qos() | (m.retain() ? 0x04 : 0) | (p ? 0x08 : 0)));
  put_varint(out, clocks.to_wall(m.expiry_at_ms()));
  if (p == nullptr) return;
  const uint8_t present = (p->payload_format_indicator ? 0x01 : 0) | (p->content_type ? 0x02 : 0) |
                          (p->response_topic ? 0x04 : 0) | (p->correlation_data ? 0x08 : 0);
  put_u8(out, present);
  if (p->payload_format_indicator) put_u8(out, *p->payload_format_indicator);
  if (p->content_type) put_str(out, *p->content_type);
  if (p->response_topic) put_str(out, *p->response_topic);
  if (p->correlation_data) put_str(out, *p->correlation_data);
  put_varint(out, p->user_properties.size());
  for (const UserProperty& u : p->user_properties) {
    put_str(out, u.key);
    put_str(out, u.value);
  }
}

void get_message(Reader& r, StoredMessage& m) {
  m.topic = r.str();
  m.payload = r.str();
  const uint8_t flags = r.u8();
  if ((flags & 0x03) > 2 || (flags & 0xF0) != 0) r.invalidate();
  m.qos = flags & 0x03;
  m.retain = (flags & 0x04) != 0;
  m.has_props = (flags & 0x08) != 0;
  m.expiry_wall_ms = r.varint();
  if (!m.has_props) return;
  ForwardedProperties& p = m.props;
  const uint8_t present = r.u8();
  if ((present & 0x01) != 0) p.payload_format_indicator = r.u8();
  if ((present & 0x02) != 0) p.content_type = r.str();
  if ((present & 0x04) != 0) p.response_topic = r.str();
  if ((present & 0x08) != 0) p.correlation_data = r.str();
  const auto n = r.bounded<size_t>(65535);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    UserProperty u;
    u.key = r.str();
    u.value = r.str();
    p.user_properties.push_back(std::move(u));
  }
}

}  // namespace

uint64_t Clocks::to_mono(uint64_t wall) const {
  if (wall == 0) return 0;
  if (wall <= wall_ms) return 1;  // already expired: any non-zero past instant
  return mono_ms + (wall - wall_ms);
}

void encode_session_put(std::string& out, const std::string& client_id, bool reset,
                        uint32_t expiry_interval, Version version, const std::string& username,
                        bool authenticated, const std::vector<uint16_t>& awaiting_pubrel) {
  put_u8(out, static_cast<uint8_t>(JournalType::SessionPut));
  put_str(out, client_id);
  put_u8(out, static_cast<uint8_t>((reset ? 0x01 : 0) | (authenticated ? 0x02 : 0)));
  put_varint(out, expiry_interval);
  put_u8(out, static_cast<uint8_t>(version));
  put_str(out, username);
  put_varint(out, awaiting_pubrel.size());
  for (uint16_t id : awaiting_pubrel) put_varint(out, id);
}

void encode_session_end(std::string& out, const std::string& client_id) {
  put_u8(out, static_cast<uint8_t>(JournalType::SessionEnd));
  put_str(out, client_id);
}

void encode_subscribe(std::string& out, const std::string& client_id, const std::string& filter,
                      const Subscription& sub) {
  put_u8(out, static_cast<uint8_t>(JournalType::Subscribe));
  put_str(out, client_id);
  put_str(out, filter);
  put_u8(out,
         static_cast<uint8_t>(sub.qos | (sub.no_local ? 0x04 : 0) |
                              (sub.retain_as_published ? 0x08 : 0) | (sub.acl_check ? 0x10 : 0)));
  put_varint(out, sub.subscription_id);
}

void encode_unsubscribe(std::string& out, const std::string& client_id, const std::string& filter) {
  put_u8(out, static_cast<uint8_t>(JournalType::Unsubscribe));
  put_str(out, client_id);
  put_str(out, filter);
}

void encode_message(std::string& out, JournalType type, const std::string& client_id, uint64_t seq,
                    uint16_t packet_id, uint8_t out_qos, bool out_retain, uint32_t subscription_id,
                    const std::vector<uint32_t>& more_ids, const Message* msg,
                    const Clocks& clocks) {
  put_u8(out, static_cast<uint8_t>(type));
  put_str(out, client_id);
  put_varint(out, seq);
  put_varint(out, packet_id);
  put_u8(out, static_cast<uint8_t>(out_qos | (out_retain ? 0x04 : 0) | (msg ? 0x08 : 0)));
  put_varint(out, subscription_id);
  put_varint(out, more_ids.size());
  for (uint32_t id : more_ids) put_varint(out, id);
  if (msg != nullptr) put_message(out, *msg, clocks);
}

void encode_done(std::string& out, const std::string& client_id, uint64_t seq) {
  put_u8(out, static_cast<uint8_t>(JournalType::Done));
  put_str(out, client_id);
  put_varint(out, seq);
}

void encode_released(std::string& out, const std::string& client_id, uint64_t seq,
                     uint16_t packet_id) {
  put_u8(out, static_cast<uint8_t>(JournalType::Released));
  put_str(out, client_id);
  put_varint(out, seq);
  put_varint(out, packet_id);
}

void encode_retain(std::string& out, const Message& msg, const Clocks& clocks) {
  put_u8(out, static_cast<uint8_t>(JournalType::Retain));
  put_message(out, msg, clocks);
}

void encode_reset(std::string& out) { put_u8(out, static_cast<uint8_t>(JournalType::Reset)); }

Result<JournalRecord> decode_journal_record(std::string_view bytes) {
  Reader r(bytes);
  JournalRecord rec;
  const uint8_t type = r.u8();
  if (type < 1 || type > 10) return unexpected(Error{"unknown journal record type"});
  rec.type = static_cast<JournalType>(type);
  if (rec.type != JournalType::Retain && rec.type != JournalType::Reset) rec.client_id = r.str();
  switch (rec.type) {
    case JournalType::SessionPut: {
      const uint8_t flags = r.u8();
      rec.reset = (flags & 0x01) != 0;
      rec.authenticated = (flags & 0x02) != 0;
      rec.expiry_interval = r.bounded<uint32_t>(UINT32_MAX);
      const uint8_t v = r.u8();
      if (v != static_cast<uint8_t>(Version::V311) && v != static_cast<uint8_t>(Version::V5)) {
        return unexpected(Error{"bad protocol version in session record"});
      }
      rec.version = static_cast<Version>(v);
      rec.username = r.str();
      const auto n = r.bounded<size_t>(65535);
      for (size_t i = 0; i < n && r.ok(); ++i)
        rec.awaiting_pubrel.push_back(r.bounded<uint16_t>(65535));
      break;
    }
    case JournalType::SessionEnd:
      break;
    case JournalType::Subscribe: {
      rec.filter = r.str();
      const uint8_t o = r.u8();
      if ((o & 0x03) > 2) return unexpected(Error{"bad subscription qos"});
      rec.sub.qos = o & 0x03;
      rec.sub.no_local = (o & 0x04) != 0;
      rec.sub.retain_as_published = (o & 0x08) != 0;
      rec.sub.acl_check = (o & 0x10) != 0;
      rec.sub.subscription_id = r.bounded<uint32_t>(268435455);
      break;
    }
    case JournalType::Unsubscribe:
      rec.filter = r.str();
      break;
    case JournalType::Enqueue:
    case JournalType::Inflight: {
      rec.seq = r.varint();
      rec.packet_id = r.bounded<uint16_t>(65535);
      const uint8_t o = r.u8();
      if ((o & 0x03) == 0 || (o & 0x03) > 2) return unexpected(Error{"bad message qos"});
      rec.out_qos = o & 0x03;
      rec.out_retain = (o & 0x04) != 0;
      const bool has_msg = (o & 0x08) != 0;
      rec.subscription_id = r.bounded<uint32_t>(268435455);
      const auto n = r.bounded<size_t>(65535);
      for (size_t i = 0; i < n && r.ok(); ++i) {
        rec.more_ids.push_back(r.bounded<uint32_t>(268435455));
      }
      if (has_msg) {
        get_message(r, rec.msg);
      } else if (rec.type == JournalType::Enqueue || rec.packet_id == 0) {
        return unexpected(Error{"queued message without a body"});
      }
      break;
    }
    case JournalType::Done:
      rec.seq = r.varint();
      break;
    case JournalType::Released:
      rec.seq = r.varint();
      rec.packet_id = r.bounded<uint16_t>(65535);
      if (rec.packet_id == 0) return unexpected(Error{"packet id 0"});
      break;
    case JournalType::Retain:
      get_message(r, rec.msg);
      break;
    case JournalType::Reset:
      break;
  }
  if (!r.ok()) return unexpected(Error{"truncated or malformed journal record"});
  if (!r.done()) return unexpected(Error{"trailing bytes after journal record"});
  return rec;
}

}  // namespace verge::mqtt
