#include "mqtt/topic.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace verge::mqtt {
namespace {

struct MatchCase {
  std::string_view filter;
  std::string_view topic;
  bool match;
};

TEST(Topic, MatchesTable) {
  const MatchCase cases[] = {
      {"a/b", "a/b", true},
      {"a/b", "a/c", false},
      {"a/b", "a/b/c", false},
      {"a/b/c", "a/b", false},
      {"a/+", "a/b", true},
      {"a/+", "a/", true},  // '+' matches an empty level
      {"a/+", "a", false},
      {"a/+", "a/b/c", false},
      {"a/+/b", "a//b", true},
      {"+/+", "/x", true},
      {"+", "/x", false},
      {"/+", "/x", true},
      {"a/#", "a", true},  // '#' matches the parent level
      {"a/#", "a/b", true},
      {"a/#", "a/b/c", true},
      {"a/#", "ab", false},
      {"a/b/#", "a", false},
      {"#", "a/b/c", true},
      {"#", "/", true},
      {"+/#", "a", true},
      {"+/b/#", "x/b", true},
      {"+/b/#", "x/c", false},
      {"A", "a", false},  // case sensitive
      {"a b", "a b", true},
      // '$' topics are not matched by a leading wildcard (spec 4.7.2).
      {"#", "$SYS/broker", false},
      {"+/broker", "$SYS/broker", false},
      {"+", "$SYS", false},
      {"$SYS/#", "$SYS/broker", true},
      {"$SYS/#", "$SYS", true},
      {"$SYS/+", "$SYS/broker", true},
      {"a/#", "a/$x", true},  // only the first level is special
      {"a/+", "a/$x", true},
      // Shared subscriptions match like their inner filter.
      {"$share/g/a/+", "a/b", true},
      {"$share/g/#", "x/y", true},
      {"$share/g/#", "$SYS/x", false},
      {"", "a", false},
      {"a", "", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(topic_matches(c.filter, c.topic), c.match) << c.filter << " vs " << c.topic;
  }
}

struct PairCase {
  std::string_view a;
  std::string_view b;
  bool expected;
};

TEST(Topic, FilterCoversTable) {
  const PairCase cases[] = {
      {"#", "a/b", true},
      {"#", "#", true},
      {"#", "+/#", true},
      {"a/#", "a", true},
      {"a/#", "a/#", true},
      {"a/#", "a/b/+", true},
      {"a/#", "b/#", false},
      {"a/+", "a/b", true},
      {"a/+", "a/+", true},
      {"a/+", "a/#", false},  // a/# also matches "a" and "a/b/c"
      {"a/+", "a/b/c", false},
      {"a/+/#", "a/+", true},
      {"a/+/#", "a", false},
      {"a/b", "a/+", false},
      {"a/b", "a/b", true},
      {"a/b", "a/b/#", false},
      {"+", "a", true},
      {"+", "", false},
      {"+/+", "a//", false},
      {"+/+", "a/", true},
      {"#", "$SYS/#", false},
      {"+/#", "$SYS/x", false},
      {"+", "$SYS", false},
      {"$SYS/#", "$SYS/x/y", true},
      {"#", "+/x", true},  // '+' at the top does not match '$' topics either
      {"$share/g/a/#", "a/b", true},
      {"a/#", "$share/g/a/b", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(filter_covers(c.a, c.b), c.expected) << c.a << " covers " << c.b;
  }
}

TEST(Topic, FiltersIntersectTable) {
  const PairCase cases[] = {
      {"a/b", "a/b", true},
      {"a/b", "a/c", false},
      {"a/+", "+/b", true},
      {"a/+", "a/b/c", false},
      {"a/#", "a", true},
      {"a", "a/#", true},
      {"a", "a/+/#", false},
      {"a/#", "+/b/c", true},
      {"#", "$SYS/x", false},
      {"$SYS/x", "+/x", false},
      {"$SYS/#", "$SYS/+", true},
      {"#", "+", true},
      {"+/+", "a", false},
      {"+/+", "a/#", true},
      {"a//b", "a/+/b", true},
      {"x/y", "a/#", false},
      {"$share/g/a/+", "a/b", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(filters_intersect(c.a, c.b), c.expected) << c.a << " meets " << c.b;
    EXPECT_EQ(filters_intersect(c.b, c.a), c.expected) << c.b << " meets " << c.a;
  }
}

TEST(Topic, ValidNames) {
  EXPECT_TRUE(valid_topic_name("a"));
  EXPECT_TRUE(valid_topic_name("/"));
  EXPECT_TRUE(valid_topic_name("a//b"));
  EXPECT_TRUE(valid_topic_name("$SYS/broker"));
  EXPECT_TRUE(valid_topic_name("caf\xc3\xa9"));
  EXPECT_FALSE(valid_topic_name(""));
  EXPECT_FALSE(valid_topic_name("a/+"));
  EXPECT_FALSE(valid_topic_name("a/#"));
  EXPECT_FALSE(valid_topic_name("a+b"));
  EXPECT_FALSE(valid_topic_name(std::string_view("a\0b", 3)));
  EXPECT_FALSE(valid_topic_name(std::string(65536, 'a')));
  EXPECT_TRUE(valid_topic_name(std::string(65535, 'a')));
}

TEST(Topic, ValidFilters) {
  for (std::string_view f : {"a", "#", "+", "a/#", "a/+/b", "+/+", "/", "a//b", "$SYS/#", "+/#",
                             "$share/g/a/b", "$share/g/#", "$share/g//"}) {
    EXPECT_TRUE(valid_topic_filter(f)) << f;
  }
  for (std::string_view f :
       {"", "a#", "a/#/b", "#/a", "a+", "a/b+", "+a", "##", "a/++", "$share/g", "$share/",
        "$share//a", "$share/g+/a", "$share/g#/a", "$share/g/", "$share/g/a/#/b"}) {
    EXPECT_FALSE(valid_topic_filter(f)) << f;
  }
}

TEST(Topic, SplitShared) {
  std::string_view group;
  std::string_view inner;
  ASSERT_TRUE(split_shared("$share/grp/a/b/#", group, inner));
  EXPECT_EQ(group, "grp");
  EXPECT_EQ(inner, "a/b/#");
  ASSERT_TRUE(split_shared("$share//a", group, inner));
  EXPECT_EQ(group, "");
  EXPECT_FALSE(split_shared("$share/grp", group, inner));
  EXPECT_FALSE(split_shared("$SHARE/g/a", group, inner));
  EXPECT_FALSE(split_shared("a/b", group, inner));
  EXPECT_FALSE(split_shared("$sharex/g/a", group, inner));
}

}  // namespace
}  // namespace verge::mqtt
