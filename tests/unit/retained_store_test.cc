#include "mqtt/retained_store.h"

#include <gtest/gtest.h>

namespace verge::mqtt {
namespace {

MessageRef msg(std::string_view topic, std::string_view payload, uint64_t expiry = 0) {
  return Message::make(topic, payload, 1, true, nullptr, expiry, 0);
}

TEST(RetainedStore, SetMatchAndClear) {
  RetainedStore r;
  r.set("a/b", msg("a/b", "1"));
  r.set("a/c", msg("a/c", "2"));
  r.set("$SYS/x", msg("$SYS/x", "3"));
  std::vector<MessageRef> out;
  r.match("a/+", 0, out);
  EXPECT_EQ(out.size(), 2u);
  out.clear();
  r.match("#", 0, out);
  EXPECT_EQ(out.size(), 2u) << "'#' must not match $SYS topics";
  out.clear();
  r.match("a/b", 0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->payload(), "1");
  r.set("a/b", msg("a/b", ""));  // an empty payload deletes
  out.clear();
  r.match("a/b", 0, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(r.size(), 2u);
}

TEST(RetainedStore, ExpiredMessagesAreDropped) {
  RetainedStore r;
  r.set("t", msg("t", "x", 1000));
  std::vector<MessageRef> out;
  r.match("t", 999, out);
  EXPECT_EQ(out.size(), 1u);
  out.clear();
  r.match("t", 1000, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(r.size(), 0u);
}

TEST(Message, TopicPayloadAndForwardedProperties) {
  Properties p;
  p.response_topic = "reply/1";
  p.user_properties.push_back({"k", "v"});
  p.topic_alias = 3;  // not forwarded: aliases are per connection
  auto m = Message::make("a/b", "payload", 2, false, &p, 0, 7);
  EXPECT_EQ(m->topic(), "a/b");
  EXPECT_EQ(m->payload(), "payload");
  EXPECT_EQ(m->qos(), 2);
  EXPECT_EQ(m->publisher_session(), 7u);
  ASSERT_NE(m->props(), nullptr);
  EXPECT_EQ(m->props()->response_topic, "reply/1");
  ASSERT_EQ(m->props()->user_properties.size(), 1u);
  EXPECT_EQ(Message::make("a", "b", 0, false, nullptr, 0, 0)->props(), nullptr);
}

TEST(Message, Qos0PacketIsEncodedOncePerVersion) {
  auto m = Message::make("t/x", "hello", 0, false, nullptr, 0, 0);
  const auto& v4 = m->qos0_packet(Version::V311);
  const auto& again = m->qos0_packet(Version::V311);
  EXPECT_EQ(v4.view().data(), again.view().data());
  // 0x30, remaining length 2+3+5, topic, payload
  EXPECT_EQ(v4.view(), std::string_view("\x30\x0a\x00\x03t/xhello", 12));
  // v5 adds an empty property block.
  EXPECT_EQ(m->qos0_packet(Version::V5).view(),
            std::string_view("\x30\x0b\x00\x03t/x\x00hello", 13));
}

}  // namespace
}  // namespace verge::mqtt
