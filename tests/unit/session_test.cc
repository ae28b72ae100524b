#include "mqtt/session.h"

#include <gtest/gtest.h>

namespace verge::mqtt {
namespace {

InflightOut entry(uint16_t id, InflightOut::State st = InflightOut::State::AwaitPuback) {
  InflightOut f;
  f.packet_id = id;
  f.state = st;
  return f;
}

std::vector<uint16_t> ids(InflightWindow& w) {
  std::vector<uint16_t> out;
  w.for_each([&](InflightOut& f) { out.push_back(f.packet_id); });
  return out;
}

TEST(InflightWindow, InOrderAcksRemoveFromTheFront) {
  InflightWindow w;
  for (uint16_t i = 1; i <= 200; ++i) w.push_back(entry(i));
  for (uint16_t i = 1; i <= 150; ++i) {
    InflightOut* f = w.find(i, InflightOut::State::AwaitPuback);
    ASSERT_NE(f, nullptr);
    w.erase(f);
  }
  EXPECT_EQ(w.size(), 50u);
  EXPECT_EQ(ids(w).front(), 151);
  EXPECT_FALSE(w.contains(150));
  EXPECT_TRUE(w.contains(151));
}

TEST(InflightWindow, OutOfOrderAcksKeepSendOrder) {
  InflightWindow w;
  for (uint16_t i = 1; i <= 5; ++i) w.push_back(entry(i));
  w.erase(w.find(3, InflightOut::State::AwaitPuback));
  w.erase(w.find(1, InflightOut::State::AwaitPuback));
  EXPECT_EQ(ids(w), (std::vector<uint16_t>{2, 4, 5}));
  EXPECT_EQ(w.size(), 3u);
  EXPECT_EQ(w.find(3, InflightOut::State::AwaitPuback), nullptr);
  // The state must match too: a PUBCOMP does not complete a message still awaiting PUBREC.
  w.push_back(entry(9, InflightOut::State::AwaitPubrec));
  EXPECT_EQ(w.find(9, InflightOut::State::AwaitPubcomp), nullptr);
  EXPECT_NE(w.find(9, InflightOut::State::AwaitPubrec), nullptr);
}

TEST(Session, PacketIdsSkipThoseInFlightAndWrap) {
  Session s;
  s.next_packet_id = 65534;
  s.inflight.push_back(entry(65535));
  s.inflight.push_back(entry(1));
  EXPECT_EQ(s.take_packet_id(), 65534);
  EXPECT_EQ(s.take_packet_id(), 2);  // 65535 and 1 are in flight, 0 is never used
}

}  // namespace
}  // namespace verge::mqtt
