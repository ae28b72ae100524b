// Desired-state documents: shape validation and the ordered difference between two documents.
#include "sync/desired.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json_test_util.h"

namespace verge::sync {
namespace {

using test::json;

std::vector<std::string> describe(const std::vector<ItemChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) {
    out.push_back(std::string(c.op == ItemChange::Op::Put ? "put " : "delete ") + c.kind + "/" +
                  c.name);
  }
  return out;
}

TEST(DesiredDiff, EmptyToFullPutsInDependencyOrder) {
  const Value desired = json(R"j({"version":1,
    "rules":{"r1":{"sql":"SELECT * FROM s"}},
    "streams":{"s":"CREATE STREAM s (t float) WITH (topic='x')"},
    "devices":{"d1":{"profile":"p"}},
    "profiles":{"p":{"points":[]}}})j");
  const auto changes = diff_desired(Value(), desired);
  EXPECT_EQ(describe(changes), (std::vector<std::string>{"put profiles/p", "put devices/d1",
                                                         "put streams/s", "put rules/r1"}));
  ASSERT_EQ(changes.size(), 4u);
  ASSERT_NE(changes[3].spec, nullptr);
  EXPECT_EQ(changes[3].spec->find("sql")->as_string(), "SELECT * FROM s");
}

TEST(DesiredDiff, UnchangedItemsAreNotListed) {
  const Value a = json(R"({"version":1,"devices":{"d1":{"a":1,"b":2}},"rules":{"r":{"sql":"x"}}})");
  // Member order differs, content equal: not a change; only the rule changed.
  const Value b = json(R"({"version":2,"devices":{"d1":{"b":2,"a":1}},"rules":{"r":{"sql":"y"}}})");
  EXPECT_EQ(describe(diff_desired(a, b)), (std::vector<std::string>{"put rules/r"}));
  EXPECT_TRUE(diff_desired(a, a).empty());
}

TEST(DesiredDiff, DeletesComeFirstInReverseDependencyOrder) {
  const Value a = json(R"({"profiles":{"p":{}},"devices":{"d":{}},"streams":{"s":"S"},
                           "rules":{"r":{}}})");
  const Value b = json(R"({"profiles":{"p2":{}}})");
  EXPECT_EQ(describe(diff_desired(a, b)),
            (std::vector<std::string>{"delete rules/r", "delete streams/s", "delete devices/d",
                                      "delete profiles/p", "put profiles/p2"}));
}

TEST(DesiredDiff, ChangedSpecIsPutWithTheNewSpec) {
  const Value a = json(R"({"devices":{"d":{"interval":"1s"}}})");
  const Value b = json(R"({"devices":{"d":{"interval":"2s"}}})");
  const auto changes = diff_desired(a, b);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, ItemChange::Op::Put);
  EXPECT_EQ(changes[0].spec->find("interval")->as_string(), "2s");
}

TEST(DesiredValidate, AcceptsAWellFormedDocument) {
  EXPECT_TRUE(validate_desired(json(R"({"version":3,"profiles":{"p":{"name":"p"}},
      "devices":{"d.1":{"id":"d.1"}},"streams":{"s":"CREATE STREAM s"},"rules":{"r":{}}})")));
  EXPECT_TRUE(validate_desired(json("{}")));
}

TEST(DesiredValidate, ErrorsNameThePath) {
  auto r = validate_desired(json(R"({"devices":{"boiler-1":3}})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "devices.boiler-1: expected an object");

  r = validate_desired(json(R"({"gadgets":{}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("gadgets: unknown kind"), std::string::npos);

  r = validate_desired(json(R"({"streams":{"s":{"sql":"x"}}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("streams.s:"), std::string::npos);

  r = validate_desired(json(R"({"rules":{"bad name":{}}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("rules.bad name: name"), std::string::npos);

  r = validate_desired(json(R"({"devices":{"d1":{"id":"d2"}}})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("devices.d1: id"), std::string::npos);

  r = validate_desired(json(R"({"version":-1})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("version:"), std::string::npos);

  r = validate_desired(json(R"({"rules":[]})"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("rules: expected an object"), std::string::npos);

  EXPECT_FALSE(validate_desired(json("[]")));
}

}  // namespace
}  // namespace verge::sync
