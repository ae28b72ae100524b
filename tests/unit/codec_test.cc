#include "mqtt/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mqtt/topic.h"

// Designated initializers below leave defaulted members out on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace verge::mqtt {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr Version V3 = Version::V311;
constexpr Version V5 = Version::V5;

Bytes enc(const Packet& p, Version v) {
  std::string out;
  encode(p, v, out);
  return Bytes(out.begin(), out.end());
}

Result<Packet, DecodeError> dec(const Bytes& b, Version v) { return decode(b, v); }

// Appends a string with its two-byte length, for building packets by hand.
void str(Bytes& b, std::string_view s) {
  const uint8_t len[2] = {static_cast<uint8_t>(s.size() >> 8), static_cast<uint8_t>(s.size())};
  b.insert(b.end(), len, len + 2);
  b.insert(b.end(), s.begin(), s.end());
}

// Wraps a body in a fixed header with a one-byte remaining length.
Bytes frame(uint8_t first, const Bytes& body) {
  Bytes b{first, static_cast<uint8_t>(body.size())};
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

Reason err(const Bytes& b, Version v) {
  auto r = dec(b, v);
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? Reason::Success : r.error().reason;
}

// ---------------------------------------------------------------------------------------------
// Hand-written byte vectors (spec chapter 3 layouts) for every packet type in both versions.

struct Vector {
  const char* name;
  Version v;
  Packet p;
  Bytes bytes;
};

Connect simple_connect(Version v) {
  Connect c;
  c.version = v;
  c.client_id = "c";
  return c;
}

std::vector<Vector> vectors() {
  Publish pub0{.topic = "a/b", .payload = "hi"};
  Publish pub1{
      .topic = "a/b", .payload = "hi", .qos = 1, .retain = true, .dup = true, .packet_id = 10};
  Ack puback{.type = PacketType::Puback, .packet_id = 10};
  Ack puback_nms{
      .type = PacketType::Puback, .packet_id = 10, .reason = Reason::NoMatchingSubscribers};
  Ack pubrec{.type = PacketType::Pubrec, .packet_id = 0x1234};
  Ack pubrel{.type = PacketType::Pubrel, .packet_id = 10};
  Ack pubcomp{.type = PacketType::Pubcomp, .packet_id = 10};
  Subscribe sub{.packet_id = 1, .topics = {{.filter = "a/b", .qos = 1}}};
  Subscribe sub5{.packet_id = 1,
                 .topics = {{.filter = "a/b",
                             .qos = 2,
                             .no_local = true,
                             .retain_as_published = true,
                             .retain_handling = 2}}};
  Suback suback{.packet_id = 1, .reasons = {Reason::GrantedQos1, Reason::UnspecifiedError}};
  Unsubscribe unsub{.packet_id = 1, .filters = {"a/b"}};
  Unsuback unsuback5{.packet_id = 1, .reasons = {Reason::Success}};
  Auth auth{.reason = Reason::ContinueAuthentication};
  auth.props.authentication_method = "x";
  Connack connack_nope{.reason = Reason::NotAuthorized};
  Connect full3 = simple_connect(V3);
  full3.clean_start = false;
  full3.keep_alive = 0x1234;
  full3.username = "u";
  full3.password = "p";
  full3.will = Will{.topic = "w", .payload = "x", .qos = 1, .retain = true};

  return {
      {"connect v3",
       V3,
       simple_connect(V3),
       {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'c'}},
      {"connect v5",
       V5,
       simple_connect(V5),
       {0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, 1, 'c'}},
      {"connect v3 will+creds", V3, full3, {0x10, 25,   0,    4, 'M', 'Q', 'T', 'T', 4,
                                            0xEC, 0x12, 0x34, 0, 1,   'c', 0,   1,   'w',
                                            0,    1,    'x',  0, 1,   'u', 0,   1,   'p'}},
      {"connack v3", V3, Connack{.session_present = true}, {0x20, 2, 1, 0}},
      {"connack v3 not authorized", V3, connack_nope, {0x20, 2, 0, 5}},
      {"connack v5", V5, Connack{.session_present = true}, {0x20, 3, 1, 0, 0}},
      {"connack v5 not authorized", V5, connack_nope, {0x20, 3, 0, 0x87, 0}},
      {"publish v3 qos0", V3, pub0, {0x30, 7, 0, 3, 'a', '/', 'b', 'h', 'i'}},
      {"publish v5 qos0", V5, pub0, {0x30, 8, 0, 3, 'a', '/', 'b', 0, 'h', 'i'}},
      {"publish v3 qos1 dup retain", V3, pub1, {0x3B, 9, 0, 3, 'a', '/', 'b', 0, 10, 'h', 'i'}},
      {"publish v5 qos1 dup retain", V5, pub1, {0x3B, 10, 0, 3, 'a', '/', 'b', 0, 10, 0, 'h', 'i'}},
      {"puback v3", V3, puback, {0x40, 2, 0, 10}},
      {"puback v5 short", V5, puback, {0x40, 2, 0, 10}},
      {"puback v5 reason", V5, puback_nms, {0x40, 3, 0, 10, 0x10}},
      {"pubrec v3", V3, pubrec, {0x50, 2, 0x12, 0x34}},
      {"pubrec v5", V5, pubrec, {0x50, 2, 0x12, 0x34}},
      {"pubrel v3", V3, pubrel, {0x62, 2, 0, 10}},
      {"pubrel v5", V5, pubrel, {0x62, 2, 0, 10}},
      {"pubcomp v3", V3, pubcomp, {0x70, 2, 0, 10}},
      {"pubcomp v5", V5, pubcomp, {0x70, 2, 0, 10}},
      {"subscribe v3", V3, sub, {0x82, 8, 0, 1, 0, 3, 'a', '/', 'b', 1}},
      {"subscribe v5", V5, sub5, {0x82, 9, 0, 1, 0, 0, 3, 'a', '/', 'b', 0x2E}},
      {"suback v3", V3, suback, {0x90, 4, 0, 1, 1, 0x80}},
      {"suback v5", V5, suback, {0x90, 5, 0, 1, 0, 1, 0x80}},
      {"unsubscribe v3", V3, unsub, {0xA2, 7, 0, 1, 0, 3, 'a', '/', 'b'}},
      {"unsubscribe v5", V5, unsub, {0xA2, 8, 0, 1, 0, 0, 3, 'a', '/', 'b'}},
      {"unsuback v3", V3, Unsuback{.packet_id = 1}, {0xB0, 2, 0, 1}},
      {"unsuback v5", V5, unsuback5, {0xB0, 4, 0, 1, 0, 0}},
      {"pingreq v3", V3, Pingreq{}, {0xC0, 0}},
      {"pingreq v5", V5, Pingreq{}, {0xC0, 0}},
      {"pingresp v3", V3, Pingresp{}, {0xD0, 0}},
      {"pingresp v5", V5, Pingresp{}, {0xD0, 0}},
      {"disconnect v3", V3, Disconnect{}, {0xE0, 0}},
      {"disconnect v5 short", V5, Disconnect{}, {0xE0, 0}},
      {"disconnect v5 reason", V5, Disconnect{.reason = Reason::SessionTakenOver}, {0xE0, 1, 0x8E}},
      {"auth v5 short", V5, Auth{}, {0xF0, 0}},
      {"auth v5", V5, auth, {0xF0, 6, 0x18, 4, 0x15, 0, 1, 'x'}},
  };
}

TEST(Codec, ByteVectors) {
  for (const auto& t : vectors()) {
    EXPECT_EQ(enc(t.p, t.v), t.bytes) << t.name;
    auto r = dec(t.bytes, t.v);
    ASSERT_TRUE(r.has_value()) << t.name << ": " << r.error().what;
    EXPECT_TRUE(*r == t.p) << t.name;
    FrameHeader h;
    ASSERT_EQ(peek_frame(t.bytes, h), FrameStatus::Complete) << t.name;
    EXPECT_EQ(h.total_size(), t.bytes.size()) << t.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Round trips with every property each packet allows.

Properties with_user(Properties p) {
  p.user_properties = {{"k", "v"}, {"k", "v2"}, {"", ""}};
  return p;
}
Properties publish_props() {
  Properties p;
  p.payload_format_indicator = 1;
  p.message_expiry_interval = 0xFFFFFFFF;
  p.content_type = "text/plain";
  p.response_topic = "re/sp";
  p.correlation_data = std::string("\0\1\2", 3);
  p.subscription_identifiers = {1, 268435455, 128};
  p.topic_alias = 7;
  return with_user(p);
}
Properties will_props() {
  Properties p = publish_props();
  p.subscription_identifiers.clear();
  p.topic_alias.reset();
  p.will_delay_interval = 30;
  return p;
}
Properties connect_props() {
  Properties p;
  p.session_expiry_interval = 3600;
  p.authentication_method = "SCRAM";
  p.authentication_data = std::string("\xff\0", 2);
  p.request_problem_information = 0;
  p.request_response_information = 1;
  p.receive_maximum = 10;
  p.topic_alias_maximum = 5;
  p.maximum_packet_size = 1 << 20;
  return with_user(p);
}
Properties connack_props() {
  Properties p;
  p.session_expiry_interval = 0;
  p.assigned_client_identifier = "auto-1";
  p.server_keep_alive = 30;
  p.authentication_method = "SCRAM";
  p.authentication_data = "d";
  p.response_information = "ri";
  p.server_reference = "other:1883";
  p.reason_string = "why";
  p.receive_maximum = 65535;
  p.topic_alias_maximum = 0;
  p.maximum_qos = 1;
  p.retain_available = 0;
  p.maximum_packet_size = 268435460;
  p.wildcard_subscription_available = 1;
  p.subscription_identifier_available = 0;
  p.shared_subscription_available = 1;
  return with_user(p);
}
Properties reason_props() {
  Properties p;
  p.reason_string = "r\xc3\xa9sum\xc3\xa9";
  return with_user(p);
}

std::vector<Packet> full_packets(Version v) {
  const bool v5 = v == V5;
  auto props = [v5](Properties p) { return v5 ? p : Properties{}; };
  std::vector<Packet> out;
  Connect c{
      .version = v, .clean_start = false, .keep_alive = 0, .client_id = "client-\xe2\x82\xac"};
  c.username = "user";
  c.password = std::string("p\0w", 3);
  c.will = Will{.topic = "will/t",
                .payload = std::string("\0bin", 4),
                .qos = 2,
                .retain = true,
                .props = props(will_props())};
  c.props = props(connect_props());
  out.push_back(c);
  if (v5) {  // v5 allows a password without a user name
    Connect c2 = c;
    c2.username.reset();
    c2.will.reset();
    out.push_back(c2);
  }
  out.push_back(Connack{.session_present = true,
                        .reason = v5 ? Reason::QuotaExceeded : Reason::BadUserNameOrPassword,
                        .props = props(connack_props())});
  Properties pp = props(publish_props());
  out.push_back(
      Publish{.topic = "t/1", .payload = "payload", .qos = 2, .packet_id = 65535, .props = pp});
  if (v5) out.push_back(Publish{.topic = "", .payload = "", .props = pp});  // alias only
  for (auto t : {PacketType::Puback, PacketType::Pubrec, PacketType::Pubrel, PacketType::Pubcomp}) {
    Reason r = !v5 ? Reason::Success
               : t == PacketType::Pubrel || t == PacketType::Pubcomp
                   ? Reason::PacketIdentifierNotFound
                   : Reason::PayloadFormatInvalid;
    out.push_back(Ack{.type = t, .packet_id = 7, .reason = r, .props = props(reason_props())});
    out.push_back(Ack{.type = t, .packet_id = 8, .props = props(reason_props())});
  }
  Properties sp;
  sp.subscription_identifiers = {99};
  Subscribe s{.packet_id = 3, .props = props(with_user(sp))};
  s.topics.push_back({.filter = "a/+/#", .qos = 0});
  s.topics.push_back({.filter = "$share/g/x",
                      .qos = 1,
                      .retain_as_published = v5,
                      .retain_handling = static_cast<uint8_t>(v5 ? 1 : 0)});
  s.topics.push_back({.filter = "#", .qos = 2, .no_local = v5});
  out.push_back(s);
  out.push_back(Suback{.packet_id = 3,
                       .reasons = {Reason::Success, Reason::GrantedQos1, Reason::GrantedQos2,
                                   Reason::UnspecifiedError},
                       .props = props(reason_props())});
  if (v5) {
    out.push_back(Suback{.packet_id = 4,
                         .reasons = {Reason::TopicFilterInvalid, Reason::QuotaExceeded,
                                     Reason::WildcardSubscriptionsNotSupported}});
  }
  out.push_back(
      Unsubscribe{.packet_id = 5, .filters = {"a", "b/#", ""}, .props = props(with_user({}))});
  Unsuback ua{.packet_id = 5, .props = props(reason_props())};
  if (v5) ua.reasons = {Reason::Success, Reason::NoSubscriptionExisted, Reason::NotAuthorized};
  out.push_back(ua);
  out.push_back(Pingreq{});
  out.push_back(Pingresp{});
  Properties dp = reason_props();
  dp.session_expiry_interval = 0;
  dp.server_reference = "elsewhere";
  out.push_back(
      Disconnect{.reason = v5 ? Reason::DisconnectWithWill : Reason::Success, .props = props(dp)});
  if (v5) {
    Properties ap = reason_props();
    ap.authentication_method = "m";
    ap.authentication_data = std::string("\0", 1);
    out.push_back(Auth{.reason = Reason::ReAuthenticate, .props = ap});
    out.push_back(Auth{.props = ap});
  }
  return out;
}

TEST(Codec, RoundTripAllPacketsAllProperties) {
  for (Version v : {V3, V5}) {
    for (const Packet& p : full_packets(v)) {
      const Bytes b = enc(p, v);
      auto r = dec(b, v);
      ASSERT_TRUE(r.has_value()) << "type " << p.index() << " v" << int(v) << ": "
                                 << r.error().what;
      EXPECT_TRUE(*r == p) << "type " << p.index() << " v" << int(v);
    }
  }
}

TEST(Codec, V311DropsV5Fields) {
  Ack a{.type = PacketType::Puback,
        .packet_id = 1,
        .reason = Reason::NotAuthorized,
        .props = reason_props()};
  EXPECT_EQ(enc(a, V3), (Bytes{0x40, 2, 0, 1}));
  Unsuback u{.packet_id = 1, .reasons = {Reason::Success}, .props = reason_props()};
  EXPECT_EQ(enc(u, V3), (Bytes{0xB0, 2, 0, 1}));
  EXPECT_EQ(enc(Disconnect{.reason = Reason::ServerShuttingDown}, V3), (Bytes{0xE0, 0}));
  EXPECT_TRUE(enc(Auth{}, V3).empty());
  Publish p{.topic = "t", .payload = "x", .props = publish_props()};
  EXPECT_EQ(enc(p, V3), (Bytes{0x30, 4, 0, 1, 't', 'x'}));
  Suback s{.packet_id = 1, .reasons = {Reason::GrantedQos2, Reason::QuotaExceeded}};
  EXPECT_EQ(enc(s, V3), (Bytes{0x90, 4, 0, 1, 2, 0x80}));
}

TEST(Codec, ConnackV311ReturnCodes) {
  const std::pair<Reason, uint8_t> map[] = {
      {Reason::Success, 0},
      {Reason::UnsupportedProtocolVersion, 1},
      {Reason::ClientIdentifierNotValid, 2},
      {Reason::ServerUnavailable, 3},
      {Reason::BadUserNameOrPassword, 4},
      {Reason::NotAuthorized, 5},
      {Reason::Banned, 5},
      {Reason::BadAuthenticationMethod, 4},
      {Reason::ServerBusy, 3},
      {Reason::UnspecifiedError, 3},
  };
  for (auto [reason, code] : map) {
    const Bytes b = enc(Connack{.reason = reason}, V3);
    EXPECT_EQ(b, (Bytes{0x20, 2, 0, code})) << reason_name(reason);
  }
  // Decoding maps the six return codes back to their v5 reasons.
  for (uint8_t code = 0; code <= 5; ++code) {
    auto r = dec({0x20, 2, 0, code}, V3);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(enc(*r, V3), (Bytes{0x20, 2, 0, code}));
  }
  EXPECT_EQ(std::get<Connack>(*dec({0x20, 2, 0, 3}, V3)).reason, Reason::ServerUnavailable);
  EXPECT_EQ(err({0x20, 2, 0, 6}, V3), Reason::MalformedPacket);
}

TEST(Codec, PublishHeaderPlusPayloadIsFullEncoding) {
  for (Version v : {V3, V5}) {
    Publish p{.topic = "a/b",
              .payload = std::string_view("0123456789", 10),
              .qos = 1,
              .packet_id = 9,
              .props = v == V5 ? publish_props() : Properties{}};
    std::string head;
    encode_publish_header(p, v, head);
    std::string full;
    encode(p, v, full);
    EXPECT_EQ(head + std::string(p.payload), full);
  }
  // Remaining length crossing the one-byte varint boundary.
  std::string big(200, 'x');
  Publish p{.topic = "t", .payload = big};
  std::string out;
  encode(p, V3, out);
  EXPECT_EQ(out.size(), 3u + 3u + 200u);
  auto r = decode(std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()), V3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<Publish>(*r).payload, big);
}

TEST(Codec, PublishViewsPointIntoFrame) {
  const Bytes b{0x30, 7, 0, 3, 'a', '/', 'b', 'h', 'i'};
  auto r = dec(b, V3);
  ASSERT_TRUE(r.has_value());
  const auto& p = std::get<Publish>(*r);
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(p.topic.data()), b.data() + 4);
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(p.payload.data()), b.data() + 7);
}

TEST(Codec, Varint) {
  const std::pair<uint32_t, Bytes> cases[] = {
      {0, {0x00}},
      {127, {0x7F}},
      {128, {0x80, 0x01}},
      {16383, {0xFF, 0x7F}},
      {16384, {0x80, 0x80, 0x01}},
      {2097151, {0xFF, 0xFF, 0x7F}},
      {2097152, {0x80, 0x80, 0x80, 0x01}},
      {268435455, {0xFF, 0xFF, 0xFF, 0x7F}},
  };
  for (const auto& [value, bytes] : cases) {
    std::string out;
    put_varint(value, out);
    EXPECT_EQ(Bytes(out.begin(), out.end()), bytes) << value;
    EXPECT_EQ(varint_size(value), bytes.size()) << value;
  }
}

TEST(Codec, PeekFrame) {
  FrameHeader h;
  EXPECT_EQ(peek_frame(Bytes{}, h), FrameStatus::NeedMore);
  EXPECT_EQ(peek_frame(Bytes{0x30}, h), FrameStatus::NeedMore);
  EXPECT_EQ(peek_frame(Bytes{0x30, 0x80}, h), FrameStatus::NeedMore);
  EXPECT_EQ(peek_frame(Bytes{0x30, 0xFF, 0xFF, 0xFF}, h), FrameStatus::NeedMore);
  EXPECT_EQ(peek_frame(Bytes{0x30, 0xFF, 0xFF, 0xFF, 0xFF}, h), FrameStatus::Malformed);
  ASSERT_EQ(peek_frame(Bytes{0x32, 0xFF, 0xFF, 0xFF, 0x7F}, h), FrameStatus::Complete);
  EXPECT_EQ(h.remaining_length, 268435455u);
  EXPECT_EQ(h.header_size, 5);
  EXPECT_EQ(h.type(), PacketType::Publish);
  EXPECT_EQ(h.first_byte, 0x32);
  ASSERT_EQ(peek_frame(Bytes{0xC0, 0x00, 0xD0}, h), FrameStatus::Complete);
  EXPECT_EQ(h.total_size(), 2u);
  // Non-minimal remaining length encodings are accepted.
  ASSERT_EQ(peek_frame(Bytes{0xC0, 0x80, 0x00}, h), FrameStatus::Complete);
  EXPECT_EQ(h.remaining_length, 0u);
  EXPECT_TRUE(dec({0xC0, 0x80, 0x00}, V3).has_value());
}

// ---------------------------------------------------------------------------------------------
// Malformed packets: each validation rule with the reason the spec requires.

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
Bytes s(std::string_view v) {
  Bytes b;
  str(b, v);
  return b;
}

// CONNECT with the given level/flags; `payload` follows (v5 gets an empty property block).
Bytes connect_bytes(uint8_t level, uint8_t flags, const Bytes& payload,
                    std::string_view name = "MQTT") {
  Bytes body = s(name);
  body.insert(body.end(), {level, flags, 0, 60});
  if (level == 5) body.push_back(0);
  return frame(0x10, cat(body, payload));
}

TEST(CodecMalformed, FixedHeaderFlags) {
  EXPECT_EQ(err({0x11, 0}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0x21, 2, 0, 0}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0x41, 2, 0, 1}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0x52, 2, 0, 1}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0x60, 2, 0, 1}, V3), Reason::MalformedPacket);  // PUBREL needs 0b0010
  EXPECT_EQ(err({0x63, 2, 0, 1}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0x72, 2, 0, 1}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err(frame(0x80, cat({0, 1}, cat(s("a"), {0}))), V3), Reason::MalformedPacket);
  EXPECT_EQ(err(frame(0xA0, cat({0, 1}, s("a"))), V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0x98, 3, 0, 1, 0}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0xB2, 2, 0, 1}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0xC8, 0}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0xD1, 0}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0xE2, 0}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0xF1, 0}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0x00, 0}, V5), Reason::MalformedPacket);  // reserved type 0
  EXPECT_EQ(err({0xF0, 0}, V3), Reason::MalformedPacket);  // no AUTH in 3.1.1
}

TEST(CodecMalformed, PublishFlags) {
  const Bytes body = cat(s("t"), {0, 1});
  EXPECT_EQ(err(frame(0x36, body), V3), Reason::MalformedPacket);               // QoS 3
  EXPECT_EQ(err(frame(0x38, s("t")), V3), Reason::MalformedPacket);             // DUP with QoS 0
  EXPECT_TRUE(dec(frame(0x3A, body), V3).has_value());                          // DUP with QoS 1
  EXPECT_EQ(err(frame(0x32, cat(s("t"), {0, 0})), V3), Reason::ProtocolError);  // id 0
  EXPECT_EQ(err(frame(0x34, cat(s("t"), {0, 0, 0})), V5), Reason::ProtocolError);
}

TEST(CodecMalformed, PublishTopic) {
  EXPECT_EQ(err(frame(0x30, s("a/+")), V3), Reason::MalformedPacket);
  EXPECT_EQ(err(frame(0x30, cat(s("#"), {0})), V5), Reason::MalformedPacket);
  EXPECT_EQ(err(frame(0x30, s("")), V3), Reason::ProtocolError);
  EXPECT_EQ(err(frame(0x30, cat(s(""), {0})), V5), Reason::ProtocolError);
  auto ok = dec(frame(0x30, cat(s(""), {3, 0x23, 0, 1})), V5);  // empty topic + topic alias
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(std::get<Publish>(*ok).props.topic_alias, 1);
  EXPECT_EQ(err(frame(0x30, s("a\xff")), V3), Reason::MalformedPacket);
  EXPECT_EQ(err(frame(0x30, {0, 5, 'a'}), V3), Reason::MalformedPacket);  // length > packet
  EXPECT_EQ(err(frame(0x30, {0}), V3), Reason::MalformedPacket);          // truncated length
}

TEST(CodecMalformed, PacketIdZero) {
  EXPECT_EQ(err({0x40, 2, 0, 0}, V3), Reason::ProtocolError);
  EXPECT_EQ(err({0x50, 2, 0, 0}, V5), Reason::ProtocolError);
  EXPECT_EQ(err({0x62, 2, 0, 0}, V5), Reason::ProtocolError);
  EXPECT_EQ(err({0x70, 2, 0, 0}, V3), Reason::ProtocolError);
  EXPECT_EQ(err(frame(0x82, cat({0, 0}, cat(s("a"), {0}))), V3), Reason::ProtocolError);
  EXPECT_EQ(err({0x90, 3, 0, 0, 0}, V3), Reason::ProtocolError);
  EXPECT_EQ(err(frame(0xA2, cat({0, 0}, s("a"))), V3), Reason::ProtocolError);
  EXPECT_EQ(err({0xB0, 2, 0, 0}, V3), Reason::ProtocolError);
}

TEST(CodecMalformed, SubscribeUnsubscribe) {
  EXPECT_EQ(err({0x82, 2, 0, 1}, V3), Reason::ProtocolError);     // no filters
  EXPECT_EQ(err({0x82, 3, 0, 1, 0}, V5), Reason::ProtocolError);  // only properties
  EXPECT_EQ(err({0xA2, 2, 0, 1}, V3), Reason::ProtocolError);
  EXPECT_EQ(err({0xA2, 3, 0, 1, 0}, V5), Reason::ProtocolError);
  auto sub = [](Version v, uint8_t opts, std::string_view f = "a") {
    Bytes body{0, 1};
    if (v == V5) body.push_back(0);
    return frame(0x82, cat(cat(body, s(f)), {opts}));
  };
  EXPECT_TRUE(dec(sub(V3, 0x02), V3).has_value());
  EXPECT_EQ(err(sub(V3, 0x03), V3), Reason::MalformedPacket);  // QoS 3
  EXPECT_EQ(err(sub(V3, 0x04), V3), Reason::MalformedPacket);  // v5 bits are reserved in 3.1.1
  EXPECT_EQ(err(sub(V3, 0x80), V3), Reason::MalformedPacket);
  EXPECT_TRUE(dec(sub(V5, 0x2E), V5).has_value());
  EXPECT_EQ(err(sub(V5, 0x03), V5), Reason::MalformedPacket);
  EXPECT_EQ(err(sub(V5, 0x40), V5), Reason::MalformedPacket);
  EXPECT_EQ(err(sub(V5, 0x80), V5), Reason::MalformedPacket);
  EXPECT_EQ(err(sub(V5, 0x30), V5), Reason::MalformedPacket);              // retain handling 3
  EXPECT_EQ(err(sub(V5, 0x04, "$share/g/a"), V5), Reason::ProtocolError);  // no local + shared
  EXPECT_EQ(err(frame(0x82, cat({0, 1}, s("a"))), V3), Reason::MalformedPacket);  // no options
  EXPECT_EQ(err(frame(0x82, cat({0, 1}, cat(s("a\xc0\x80"), {0}))), V3), Reason::MalformedPacket);
  // Invalid filter syntax is for SUBACK to refuse, not the codec.
  EXPECT_TRUE(dec(sub(V3, 0, "a/#/b"), V3).has_value());
}

TEST(CodecMalformed, Acks) {
  EXPECT_EQ(err({0x40, 3, 0, 1, 0}, V3), Reason::MalformedPacket);  // trailing byte in 3.1.1
  EXPECT_EQ(err({0x40, 1, 0}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0x40, 3, 0, 1, 0x05}, V5), Reason::MalformedPacket);     // unknown reason
  EXPECT_EQ(err({0x62, 3, 0, 1, 0x10}, V5), Reason::MalformedPacket);     // not a PUBREL reason
  EXPECT_EQ(err({0x40, 4, 0, 1, 0, 1}, V5), Reason::MalformedPacket);     // props length > packet
  EXPECT_EQ(err({0x40, 5, 0, 1, 0, 0, 9}, V5), Reason::MalformedPacket);  // trailing
  auto ok = dec({0x40, 3, 0, 1, 0x97}, V5);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(std::get<Ack>(*ok).reason, Reason::QuotaExceeded);
  ok = dec({0x50, 4, 0, 1, 0, 0}, V5);
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(std::get<Ack>(*ok) == (Ack{.type = PacketType::Pubrec, .packet_id = 1}));
  EXPECT_EQ(err({0x90, 2, 0, 1}, V3), Reason::ProtocolError);       // SUBACK without codes
  EXPECT_EQ(err({0x90, 3, 0, 1, 3}, V3), Reason::MalformedPacket);  // 3.1.1: 0,1,2,0x80
  EXPECT_EQ(err({0x90, 3, 0, 1, 0x8F}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0x90, 4, 0, 1, 0, 0x11}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0xB0, 3, 0, 1, 0}, V5), Reason::ProtocolError);    // UNSUBACK without codes
  EXPECT_EQ(err({0xB0, 3, 0, 1, 0}, V3), Reason::MalformedPacket);  // 3.1.1 has no payload
  EXPECT_EQ(err({0xB0, 4, 0, 1, 0, 0x10}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0x20, 2, 2, 0}, V3), Reason::MalformedPacket);        // CONNACK flags
  EXPECT_EQ(err({0x20, 3, 0, 0x04, 0}, V5), Reason::MalformedPacket);  // not a CONNACK reason
  EXPECT_EQ(err({0x20, 3, 0, 0, 0, 0}, V3), Reason::MalformedPacket);
}

TEST(CodecMalformed, PingDisconnectAuth) {
  EXPECT_EQ(err({0xC0, 1, 0}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0xD0, 1, 0}, V5), Reason::MalformedPacket);
  EXPECT_EQ(err({0xE0, 1, 0}, V3), Reason::MalformedPacket);
  EXPECT_EQ(err({0xE0, 1, 0x18}, V5), Reason::MalformedPacket);  // not a DISCONNECT reason
  EXPECT_EQ(err({0xF0, 1, 0x04}, V5), Reason::MalformedPacket);  // not an AUTH reason
  auto ok = dec({0xE0, 1, 0x04}, V5);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(std::get<Disconnect>(*ok).reason, Reason::DisconnectWithWill);
  EXPECT_EQ(err({0xE0, 3, 0, 0, 0}, V5), Reason::MalformedPacket);  // trailing
}

TEST(CodecMalformed, Connect) {
  const Bytes id = s("c");
  EXPECT_TRUE(dec(connect_bytes(4, 0x02, id), V5).has_value());
  EXPECT_EQ(err(connect_bytes(4, 0, id, "MQIsdp"), V5), Reason::UnsupportedProtocolVersion);
  EXPECT_EQ(err(connect_bytes(3, 0, id), V5), Reason::UnsupportedProtocolVersion);
  EXPECT_EQ(err(connect_bytes(6, 0, id), V5), Reason::UnsupportedProtocolVersion);
  EXPECT_EQ(err(connect_bytes(4, 0x01, id), V3), Reason::MalformedPacket);  // reserved bit
  EXPECT_EQ(err(connect_bytes(4, 0x08, id), V3), Reason::MalformedPacket);  // will qos, no will
  EXPECT_EQ(err(connect_bytes(5, 0x20, id), V5), Reason::MalformedPacket);  // will retain
  const Bytes will = cat(id, cat(s("w"), s("p")));
  EXPECT_TRUE(dec(connect_bytes(4, 0x34, will), V3).has_value());
  EXPECT_EQ(err(connect_bytes(4, 0x1C, will), V3), Reason::MalformedPacket);  // will qos 3
  EXPECT_EQ(err(connect_bytes(4, 0x04, cat(id, cat(s("w/#"), s("p")))), V3),
            Reason::MalformedPacket);
  // Password without user name: malformed in 3.1.1, allowed in 5.0.
  EXPECT_EQ(err(connect_bytes(4, 0x40, cat(id, s("pw"))), V3), Reason::MalformedPacket);
  auto ok = dec(connect_bytes(5, 0x40, cat(id, s("pw"))), V3);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(std::get<Connect>(*ok).password, "pw");
  EXPECT_FALSE(std::get<Connect>(*ok).username.has_value());
  EXPECT_EQ(err(connect_bytes(4, 0x80, id), V3), Reason::MalformedPacket);  // missing user name
  EXPECT_EQ(err(connect_bytes(4, 0, cat(id, {0})), V3), Reason::MalformedPacket);  // trailing
  EXPECT_EQ(err(connect_bytes(4, 0, {0, 2, 'c'}), V3), Reason::MalformedPacket);   // truncated
}

TEST(CodecMalformed, Utf8) {
  auto client = [](std::string_view id) { return connect_bytes(4, 0, s(id)); };
  EXPECT_TRUE(dec(client("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), V3).has_value());
  EXPECT_TRUE(dec(client("\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf"), V3).has_value());
  for (std::string_view bad : {std::string_view("a\0b", 3), std::string_view("\xc0\x80"),
                               std::string_view("\xed\xa0\x80"), std::string_view("\xed\xbf\xbf"),
                               std::string_view("\xf4\x90\x80\x80"), std::string_view("\xe2\x82"),
                               std::string_view("\x80"), std::string_view("\xf8\x88\x80\x80\x80"),
                               std::string_view("\xe0\x80\xaf"), std::string_view("\xc3")}) {
    EXPECT_EQ(err(client(bad), V3), Reason::MalformedPacket) << testing::PrintToString(bad);
  }
}

TEST(CodecMalformed, Lengths) {
  EXPECT_EQ(err({0xC0, 0, 0}, V3), Reason::MalformedPacket);  // frame longer than the packet
  EXPECT_EQ(err({0x40, 2, 0}, V3), Reason::MalformedPacket);  // frame shorter
  EXPECT_EQ(err({0xC0, 0x80, 0x80, 0x80, 0x80, 0}, V3), Reason::MalformedPacket);  // 5-byte varint
  EXPECT_EQ(err({}, V3), Reason::MalformedPacket);
}

// v5 PUBLISH whose property block is `props` (length prefix added here).
Bytes publish_with(const Bytes& props) {
  Bytes body = s("t");
  body.push_back(static_cast<uint8_t>(props.size()));
  return frame(0x30, cat(body, props));
}

TEST(CodecMalformed, Properties) {
  EXPECT_TRUE(dec(publish_with({0x26, 0, 1, 'k', 0, 0, 0x26, 0, 1, 'k', 0, 0}), V5).has_value());
  auto ok = dec(publish_with({0x0B, 1, 0x0B, 0x80, 0x01}), V5);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(std::get<Publish>(*ok).props.subscription_identifiers, (std::vector<uint32_t>{1, 128}));
  // Non-minimal varint for the subscription identifier is still the value 1.
  EXPECT_TRUE(dec(publish_with({0x0B, 0x81, 0x00}), V5).has_value());

  EXPECT_EQ(err(publish_with({0x0B, 0}), V5), Reason::ProtocolError);  // subscription id 0
  EXPECT_EQ(err(publish_with({0x03, 0, 0, 0x03, 0, 0}), V5), Reason::ProtocolError);  // dup
  EXPECT_EQ(err(publish_with({0x23, 0, 1, 0x23, 0, 2}), V5), Reason::ProtocolError);
  EXPECT_EQ(err(publish_with({0x11, 0, 0, 0, 1}), V5), Reason::ProtocolError);  // not allowed
  EXPECT_EQ(err(publish_with({0x1F, 0, 0}), V5), Reason::ProtocolError);
  EXPECT_EQ(err(publish_with({0x18, 0, 0, 0, 1}), V5), Reason::ProtocolError);    // will only
  EXPECT_EQ(err(publish_with({0x05, 0}), V5), Reason::MalformedPacket);           // unknown id
  EXPECT_EQ(err(publish_with({0x01, 2}), V5), Reason::ProtocolError);             // must be 0 or 1
  EXPECT_EQ(err(publish_with({0x23, 0, 0}), V5), Reason::ProtocolError);          // topic alias 0
  EXPECT_EQ(err(publish_with({0x08, 0, 1, '+'}), V5), Reason::ProtocolError);     // response topic
  EXPECT_EQ(err(publish_with({0x03, 0, 1, 0xFF}), V5), Reason::MalformedPacket);  // bad UTF-8
  EXPECT_EQ(err(publish_with({0x02, 0, 0}), V5), Reason::MalformedPacket);        // truncated value
  EXPECT_EQ(err(publish_with({0x26, 0, 1, 'k'}), V5), Reason::MalformedPacket);   // half a pair
  EXPECT_EQ(err(frame(0x30, cat(s("t"), {5, 0x01})), V5), Reason::MalformedPacket);  // too long

  // Subscription identifier: once in SUBSCRIBE.
  const Bytes filt = cat(s("a"), {0});
  EXPECT_TRUE(dec(frame(0x82, cat({0, 1, 2, 0x0B, 5}, filt)), V5).has_value());
  EXPECT_EQ(err(frame(0x82, cat({0, 1, 4, 0x0B, 5, 0x0B, 6}, filt)), V5), Reason::ProtocolError);
  EXPECT_EQ(err(frame(0x82, cat({0, 1, 2, 0x0B, 0}, filt)), V5), Reason::ProtocolError);
  EXPECT_EQ(err(frame(0x82, cat({0, 1, 3, 0x1F, 0, 0}, filt)), V5), Reason::ProtocolError);

  // CONNECT and will properties have separate tables.
  const Bytes id = s("c");
  auto connect_props = [&](const Bytes& props, const Bytes& will_props) {
    Bytes body = s("MQTT");
    body.insert(body.end(), {5, static_cast<uint8_t>(will_props.empty() ? 0 : 0x04), 0, 0,
                             static_cast<uint8_t>(props.size())});
    body = cat(cat(body, props), id);
    if (!will_props.empty()) {
      body.push_back(static_cast<uint8_t>(will_props.size() - 1));  // first byte is a marker
      body = cat(cat(cat(body, Bytes(will_props.begin() + 1, will_props.end())), s("w")), s("p"));
    }
    return frame(0x10, body);
  };
  EXPECT_TRUE(dec(connect_props({0x21, 0, 1, 0x27, 0, 0, 1, 0}, {}), V5).has_value());
  EXPECT_EQ(err(connect_props({0x21, 0, 0}, {}), V5), Reason::ProtocolError);  // receive max 0
  EXPECT_EQ(err(connect_props({0x27, 0, 0, 0, 0}, {}), V5), Reason::ProtocolError);
  EXPECT_EQ(err(connect_props({0x18, 0, 0, 0, 0}, {}), V5), Reason::ProtocolError);  // will delay
  EXPECT_EQ(err(connect_props({0x17, 2}, {}), V5), Reason::ProtocolError);
  EXPECT_EQ(err(connect_props({0x12, 0, 0}, {}), V5), Reason::ProtocolError);  // CONNACK only
  EXPECT_TRUE(dec(connect_props({}, {0xFF, 0x18, 0, 0, 0, 5, 0x01, 1}), V5).has_value());
  EXPECT_EQ(err(connect_props({}, {0xFF, 0x23, 0, 1}), V5), Reason::ProtocolError);  // alias
  EXPECT_EQ(err(connect_props({}, {0xFF, 0x11, 0, 0, 0, 1}), V5), Reason::ProtocolError);

  // CONNACK boolean capabilities.
  EXPECT_EQ(err({0x20, 5, 0, 0, 2, 0x24, 2}, V5), Reason::ProtocolError);  // maximum QoS 2
  EXPECT_EQ(err({0x20, 5, 0, 0, 2, 0x25, 3}, V5), Reason::ProtocolError);
  EXPECT_EQ(err({0x20, 5, 0, 0, 2, 0x17, 1}, V5), Reason::ProtocolError);  // CONNECT only
}

TEST(Codec, ReasonNames) {
  EXPECT_STREQ(reason_name(Reason::MalformedPacket), "malformed_packet");
  EXPECT_STREQ(reason_name(Reason::Success), "success");
  EXPECT_STREQ(reason_name(Reason::WildcardSubscriptionsNotSupported),
               "wildcard_subscriptions_not_supported");
  EXPECT_STREQ(reason_name(static_cast<Reason>(0x77)), "unknown");
}

}  // namespace
}  // namespace verge::mqtt
