#include <gtest/gtest.h>

#include "mqtt/journal_codec.h"
#include "mqtt/persistence.h"

namespace verge::mqtt {
namespace {

const Clocks kClocks{1000, 1700000000000};

MessageRef sample_message() {
  Properties p;
  p.content_type = "application/json";
  p.response_topic = "reply/1";
  p.correlation_data = std::string("\x00\x01", 2);
  p.payload_format_indicator = 1;
  p.user_properties = {{"k", "v"}, {"k", "w"}};
  return Message::make("plant/line1/temp", std::string("{\"t\":21.5}\0x", 12), 1, true, &p, 61000,
                       7);
}

JournalRecord decode(const std::string& bytes) {
  auto r = decode_journal_record(bytes);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r ? *r : JournalRecord{};
}

TEST(JournalCodec, SessionPutRoundTrip) {
  std::string b;
  encode_session_put(b, "dev-1", true, 3600, Version::V311, "alice", true, {3, 65535});
  const JournalRecord r = decode(b);
  EXPECT_EQ(r.type, JournalType::SessionPut);
  EXPECT_EQ(r.client_id, "dev-1");
  EXPECT_TRUE(r.reset);
  EXPECT_EQ(r.expiry_interval, 3600u);
  EXPECT_EQ(r.version, Version::V311);
  EXPECT_EQ(r.username, "alice");
  EXPECT_TRUE(r.authenticated);
  EXPECT_EQ(r.awaiting_pubrel, (std::vector<uint16_t>{3, 65535}));
}

TEST(JournalCodec, SubscriptionsRoundTrip) {
  Subscription sub;
  sub.qos = 2;
  sub.no_local = true;
  sub.retain_as_published = true;
  sub.acl_check = true;
  sub.subscription_id = 268435455;
  std::string b;
  encode_subscribe(b, "c", "$share/g/a/+/#", sub);
  JournalRecord r = decode(b);
  EXPECT_EQ(r.type, JournalType::Subscribe);
  EXPECT_EQ(r.filter, "$share/g/a/+/#");
  EXPECT_EQ(r.sub.qos, 2);
  EXPECT_TRUE(r.sub.no_local);
  EXPECT_TRUE(r.sub.retain_as_published);
  EXPECT_TRUE(r.sub.acl_check);
  EXPECT_EQ(r.sub.subscription_id, 268435455u);
  b.clear();
  encode_unsubscribe(b, "c", "a/b");
  r = decode(b);
  EXPECT_EQ(r.type, JournalType::Unsubscribe);
  EXPECT_EQ(r.filter, "a/b");
}

TEST(JournalCodec, MessageKeepsPayloadPropertiesAndWallClockExpiry) {
  const MessageRef m = sample_message();
  std::string b;
  encode_message(b, JournalType::Enqueue, "sub-9", 42, 0, 1, true, 5, {6, 7}, m.get(), kClocks);
  const JournalRecord r = decode(b);
  EXPECT_EQ(r.type, JournalType::Enqueue);
  EXPECT_EQ(r.client_id, "sub-9");
  EXPECT_EQ(r.seq, 42u);
  EXPECT_EQ(r.out_qos, 1);
  EXPECT_TRUE(r.out_retain);
  EXPECT_EQ(r.subscription_id, 5u);
  EXPECT_EQ(r.more_ids, (std::vector<uint32_t>{6, 7}));
  EXPECT_EQ(r.msg.topic, m->topic());
  EXPECT_EQ(r.msg.payload, m->payload());  // binary, with a NUL inside
  EXPECT_EQ(r.msg.qos, 1);
  EXPECT_TRUE(r.msg.retain);
  EXPECT_EQ(r.msg.expiry_wall_ms, kClocks.wall_ms + 60000);
  ASSERT_TRUE(r.msg.has_props);
  EXPECT_EQ(r.msg.props.content_type, "application/json");
  EXPECT_EQ(r.msg.props.response_topic, "reply/1");
  EXPECT_EQ(r.msg.props.correlation_data, std::string("\x00\x01", 2));
  EXPECT_EQ(r.msg.props.payload_format_indicator, 1);
  ASSERT_EQ(r.msg.props.user_properties.size(), 2u);
  EXPECT_EQ(r.msg.props.user_properties[1].value, "w");
  // Back to a monotonic clock of another boot: still 60 s after that clock's "now".
  const Clocks later{5, kClocks.wall_ms};
  EXPECT_EQ(later.to_mono(r.msg.expiry_wall_ms), 60005u);
  EXPECT_EQ(later.to_mono(kClocks.wall_ms - 1), 1u);  // already expired
  EXPECT_EQ(later.to_mono(0), 0u);                    // never expires
}

TEST(JournalCodec, DoneReleasedAndRetain) {
  std::string b;
  encode_done(b, "c", 9);
  EXPECT_EQ(decode(b).type, JournalType::Done);
  EXPECT_EQ(decode(b).seq, 9u);
  b.clear();
  encode_released(b, "c", 10, 77);
  EXPECT_EQ(decode(b).type, JournalType::Released);
  EXPECT_EQ(decode(b).packet_id, 77);
  b.clear();
  encode_retain(b, *sample_message(), kClocks);
  const JournalRecord r = decode(b);
  EXPECT_EQ(r.type, JournalType::Retain);
  EXPECT_TRUE(r.client_id.empty());
  EXPECT_EQ(r.msg.topic, "plant/line1/temp");
}

TEST(JournalCodec, EveryTruncationIsAnErrorNotACrash) {
  std::string b;
  encode_message(b, JournalType::Enqueue, "sub", 1, 0, 2, false, 0, {}, sample_message().get(),
                 kClocks);
  for (size_t n = 0; n < b.size(); ++n) {
    EXPECT_FALSE(decode_journal_record(std::string_view(b).substr(0, n)).has_value()) << n;
  }
  EXPECT_FALSE(decode_journal_record(b + "x").has_value());  // trailing garbage
}

TEST(JournalCodec, RejectsBadTypesAndValues) {
  EXPECT_FALSE(decode_journal_record(std::string("\x00", 1)).has_value());
  EXPECT_FALSE(decode_journal_record("\x0b").has_value());  // past the last type
  std::string b;
  encode_done(b, "c", 1);
  b[0] = static_cast<char>(JournalType::Released);  // Released needs a packet id
  EXPECT_FALSE(decode_journal_record(b).has_value());
  b.clear();
  encode_message(b, JournalType::Enqueue, "c", 1, 0, 1, false, 0, {}, nullptr, kClocks);
  EXPECT_FALSE(decode_journal_record(b).has_value());  // a queued message needs its body
  // A varint longer than 64 bits.
  EXPECT_FALSE(decode_journal_record("\x06\x01"
                                     "c\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")
                   .has_value());
}

// ---- replay ----

void put(RecoveredState& st, const std::string& bytes) {
  auto r = decode_journal_record(bytes);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  apply_record(st, std::move(*r));
}

TEST(JournalReplay, QueuedMinusDoneInSeqOrder) {
  RecoveredState st;
  const MessageRef m = sample_message();
  std::string b;
  encode_session_put(b, "s", true, 60, Version::V5, "", false, {});
  put(st, b);
  Subscription sub;
  sub.qos = 1;
  for (uint64_t seq : {3, 1, 2}) {
    b.clear();
    encode_message(b, JournalType::Enqueue, "s", seq, 0, 1, false, 0, {}, m.get(), kClocks);
    put(st, b);
  }
  b.clear();
  encode_done(b, "s", 2);
  put(st, b);
  b.clear();
  encode_subscribe(b, "s", "a/#", sub);
  put(st, b);
  const RecoveredSession& s = st.sessions.at("s");
  ASSERT_EQ(s.messages.size(), 2u);
  EXPECT_EQ(s.messages.begin()->first, 1u);
  EXPECT_EQ(s.messages.rbegin()->first, 3u);
  EXPECT_EQ(s.subscriptions.count("a/#"), 1u);
  EXPECT_EQ(st.records, 6u);
}

TEST(JournalReplay, ResetStartsOverAndEndForgets) {
  RecoveredState st;
  std::string b;
  encode_session_put(b, "s", true, 60, Version::V5, "", false, {});
  put(st, b);
  b.clear();
  encode_subscribe(b, "s", "x", Subscription{});
  put(st, b);
  b.clear();
  encode_session_put(b, "s", false, 120, Version::V5, "", false, {});  // an update keeps state
  put(st, b);
  EXPECT_EQ(st.sessions.at("s").subscriptions.size(), 1u);
  EXPECT_EQ(st.sessions.at("s").expiry_interval, 120u);
  b.clear();
  encode_session_put(b, "s", true, 60, Version::V5, "", false, {});  // a snapshot starts over
  put(st, b);
  EXPECT_TRUE(st.sessions.at("s").subscriptions.empty());
  b.clear();
  encode_session_end(b, "s");
  put(st, b);
  EXPECT_TRUE(st.sessions.empty());
  b.clear();
  encode_done(b, "s", 1);  // a record of a session nobody knows: skipped and counted
  put(st, b);
  EXPECT_EQ(st.bad_records, 1u);
}

TEST(JournalReplay, ReleasedKeepsOnlyThePacketId) {
  RecoveredState st;
  std::string b;
  encode_session_put(b, "s", true, 60, Version::V5, "", false, {});
  put(st, b);
  b.clear();
  encode_message(b, JournalType::Enqueue, "s", 5, 0, 2, false, 0, {}, sample_message().get(),
                 kClocks);
  put(st, b);
  b.clear();
  encode_released(b, "s", 5, 300);
  put(st, b);
  const RecoveredMessage& m = st.sessions.at("s").messages.at(5);
  EXPECT_TRUE(m.released);
  EXPECT_EQ(m.packet_id, 300);
  EXPECT_TRUE(m.msg.payload.empty());
}

TEST(JournalReplay, ResetForgetsEverythingBefore) {
  RecoveredState st;
  std::string b;
  encode_session_put(b, "gone", true, 60, Version::V5, "", false, {});
  put(st, b);
  b.clear();
  encode_retain(b, *sample_message(), kClocks);
  put(st, b);
  b.clear();
  encode_reset(b);
  put(st, b);
  EXPECT_TRUE(st.sessions.empty());
  EXPECT_TRUE(st.retained.empty());
}

TEST(JournalReplay, RetainSetAndDelete) {
  RecoveredState st;
  std::string b;
  encode_retain(b, *sample_message(), kClocks);
  put(st, b);
  ASSERT_EQ(st.retained.size(), 1u);
  b.clear();
  encode_retain(b, *Message::make("plant/line1/temp", "", 0, true, nullptr, 0, 0), kClocks);
  put(st, b);
  EXPECT_TRUE(st.retained.empty());
}

}  // namespace
}  // namespace verge::mqtt
