#include "rules/template.h"

#include <gtest/gtest.h>

namespace verge::rules {
namespace {

Value row() {
  auto parsed = parse_json(
      R"({"deviceId":"d7","temp":31.5,"n":3,"ok":true,"a":{"b":"x","c":[10,{"d":"deep"}]},"nil":null})");
  EXPECT_TRUE(parsed.has_value());
  return *parsed;
}

std::string render(std::string_view text, Template::Missing m = Template::Missing::Null) {
  auto t = Template::parse(text);
  EXPECT_TRUE(t.has_value()) << text;
  if (!t) return "<parse error>";
  auto r = t->render(row(), m);
  return r ? *r : "<error: " + r.error().message + ">";
}

TEST(Template, SubstitutesFieldsStringsRawOthersAsJson) {
  EXPECT_EQ(render("alerts/{{deviceId}}/temp"), "alerts/d7/temp");
  EXPECT_EQ(render("{{temp}}|{{n}}|{{ok}}"), "31.5|3|true");
  EXPECT_EQ(render(R"({"t": {{temp}}, "id": "{{deviceId}}"})"), R"({"t": 31.5, "id": "d7"})");
  EXPECT_EQ(render("{{a}}"), R"({"b":"x","c":[10,{"d":"deep"}]})");
}

TEST(Template, NestedPathsAndIndexes) {
  EXPECT_EQ(render("{{a.b}}"), "x");
  EXPECT_EQ(render("{{ a.c[0] }}"), "10");
  EXPECT_EQ(render("{{a.c[1].d}}"), "deep");
  EXPECT_EQ(render("{{a.c[-1].d}}"), "deep");
}

TEST(Template, JsonIsTheWholeRow) {
  const std::string whole = row().to_json();
  EXPECT_EQ(render("{{json}}"), whole);
  EXPECT_EQ(render("row={{ json }}"), "row=" + whole);
  auto t = Template::whole_row();
  EXPECT_EQ(*t.render(row()), whole);
  EXPECT_TRUE(t.has_fields());
}

TEST(Template, MissingFieldsRenderNullOrFail) {
  EXPECT_EQ(render("{{nope}}/{{nil}}/{{a.c[5]}}"), "null/null/null");
  EXPECT_EQ(render("alerts/{{nope}}", Template::Missing::Error),
            "<error: field 'nope' is missing or null in the row>");
  EXPECT_EQ(render("{{deviceId}}", Template::Missing::Error), "d7");
}

TEST(Template, ConstantText) {
  auto t = Template::parse("plain/topic");
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(t->has_fields());
  EXPECT_EQ(*t->render(row()), "plain/topic");
  EXPECT_EQ(t->source(), "plain/topic");
  auto empty = Template::parse("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty->render(row()), "");
}

TEST(Template, ParseErrorsSayWhere) {
  auto unterminated = Template::parse("alerts/{{deviceId");
  ASSERT_FALSE(unterminated.has_value());
  EXPECT_EQ(unterminated.error().message, "unterminated {{ at offset 7");
  auto empty = Template::parse("x{{ }}");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message, "empty {{}} at offset 1");
  for (const char* bad :
       {"{{a..b}}", "{{a.}}", "{{[0]}}", "{{a[x]}}", "{{a[1}}", "{{a b}}", "{{.a}}", "{{a[0]b}}"}) {
    auto t = Template::parse(bad);
    EXPECT_FALSE(t.has_value()) << bad;
    if (!t) {
      EXPECT_NE(t.error().message.find("bad path"), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace verge::rules
