#include "mqtt/subscription_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace verge::mqtt {
namespace {

Subscription sub(uint64_t session, uint8_t qos = 0) {
  Subscription s;
  s.session = session;
  s.qos = qos;
  return s;
}

std::set<uint64_t> sessions_matching(const SubscriptionTree& t, std::string_view topic) {
  std::vector<Subscription> out;
  t.match(topic, out);
  std::set<uint64_t> ids;
  for (const auto& s : out) ids.insert(s.session);
  return ids;
}

TEST(SubscriptionTree, MatchesExactAndWildcards) {
  SubscriptionTree t;
  t.subscribe("a/b/c", sub(1));
  t.subscribe("a/+/c", sub(2));
  t.subscribe("a/#", sub(3));
  t.subscribe("#", sub(4));
  t.subscribe("+/+", sub(5));
  t.subscribe("a/b", sub(6));
  EXPECT_EQ(sessions_matching(t, "a/b/c"), (std::set<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(sessions_matching(t, "a/b"), (std::set<uint64_t>{3, 4, 5, 6}));
  // '#' also matches the parent level (spec 4.7.1.2).
  EXPECT_EQ(sessions_matching(t, "a"), (std::set<uint64_t>{3, 4}));
  EXPECT_EQ(sessions_matching(t, "x/y/z"), (std::set<uint64_t>{4}));
  EXPECT_EQ(t.size(), 6u);
}

TEST(SubscriptionTree, EmptyLevelsAreLevels) {
  SubscriptionTree t;
  t.subscribe("a/+/b", sub(1));
  t.subscribe("+/+", sub(2));
  EXPECT_EQ(sessions_matching(t, "a//b"), (std::set<uint64_t>{1}));
  EXPECT_EQ(sessions_matching(t, "/x"), (std::set<uint64_t>{2}));
}

TEST(SubscriptionTree, DollarTopicsNeedExplicitFirstLevel) {
  SubscriptionTree t;
  t.subscribe("#", sub(1));
  t.subscribe("+/broker/uptime", sub(2));
  t.subscribe("$SYS/#", sub(3));
  EXPECT_EQ(sessions_matching(t, "$SYS/broker/uptime"), (std::set<uint64_t>{3}));
}

TEST(SubscriptionTree, ResubscribeReplacesOptions) {
  SubscriptionTree t;
  EXPECT_TRUE(t.subscribe("a/b", sub(1, 0)));
  EXPECT_FALSE(t.subscribe("a/b", sub(1, 2)));
  std::vector<Subscription> out;
  t.match("a/b", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].qos, 2);
  EXPECT_EQ(t.size(), 1u);
}

TEST(SubscriptionTree, UnsubscribeRemovesOnlyThatSession) {
  SubscriptionTree t;
  t.subscribe("a/+", sub(1));
  t.subscribe("a/+", sub(2));
  EXPECT_TRUE(t.unsubscribe("a/+", 1));
  EXPECT_FALSE(t.unsubscribe("a/+", 1));
  EXPECT_FALSE(t.unsubscribe("a/b", 2));
  EXPECT_EQ(sessions_matching(t, "a/x"), (std::set<uint64_t>{2}));
  EXPECT_TRUE(t.unsubscribe("a/+", 2));
  EXPECT_TRUE(sessions_matching(t, "a/x").empty());
  EXPECT_EQ(t.size(), 0u);
}

TEST(SubscriptionTree, SharedGroupsDeliverToOneMemberInTurn) {
  SubscriptionTree t;
  t.subscribe("$share/g/jobs/+", sub(1));
  t.subscribe("$share/g/jobs/+", sub(2));
  t.subscribe("$share/h/jobs/+", sub(3));
  t.subscribe("jobs/#", sub(4));
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 10; ++i) {
    std::vector<Subscription> out;
    t.match("jobs/x", out);
    ASSERT_EQ(out.size(), 3u);  // one of group g, the only member of h, the plain subscriber
    for (const auto& s : out) counts[s.session]++;
  }
  EXPECT_EQ(counts[1], 5);
  EXPECT_EQ(counts[2], 5);
  EXPECT_EQ(counts[3], 10);
  EXPECT_EQ(counts[4], 10);
  EXPECT_TRUE(t.unsubscribe("$share/g/jobs/+", 1));
  std::vector<Subscription> out;
  t.match("jobs/y", out);
  EXPECT_EQ(std::count_if(out.begin(), out.end(), [](auto& s) { return s.session == 2; }), 1);
}

TEST(SubscriptionTree, DeepTopicsBeyondInlineLevels) {
  SubscriptionTree t;
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += (i ? "/" : "") + std::to_string(i);
  t.subscribe(deep, sub(1));
  t.subscribe("0/#", sub(2));
  EXPECT_EQ(sessions_matching(t, deep), (std::set<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace verge::mqtt
