#include "core/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>

namespace verge {
namespace {

// Runs `fn` with stderr redirected to a temporary file and returns what was written.
template <class F>
std::string capture_stderr(F fn) {
  std::FILE* tmp = std::tmpfile();
  EXPECT_NE(tmp, nullptr);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(tmp), STDERR_FILENO);
  fn();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, tmp)) > 0) out.append(buf, n);
  std::fclose(tmp);
  return out;
}

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { set_log_level(LogLevel::Info); }
};

TEST_F(LogTest, LineHasTimestampLevelMessageAndFields) {
  std::string out = capture_stderr([] {
    log_info("listening", {{"listener", "mqtt"}, {"addr", "127.0.0.1:1883"}, {"port", 1883}});
  });
  std::regex re(R"(^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg="listening" )"
                R"(listener=mqtt addr=127\.0\.0\.1:1883 port=1883\n$)");
  EXPECT_TRUE(std::regex_match(out, re)) << out;
}

TEST_F(LogTest, QuotesValuesWithSpacesQuotesAndEquals) {
  std::string out = capture_stderr([] {
    log_warn("bad \"thing\"", {{"a", "two words"},
                               {"b", "x=y"},
                               {"c", "say \"hi\""},
                               {"d", ""},
                               {"e", "line\nbreak"},
                               {"ok", true}});
  });
  EXPECT_NE(out.find(R"( level=warn msg="bad \"thing\"" )"), std::string::npos) << out;
  EXPECT_NE(out.find(R"( a="two words" b="x=y" c="say \"hi\"" d="" e="line\nbreak" ok=true)"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "exactly one line";
}

TEST_F(LogTest, LevelFiltering) {
  set_log_level(LogLevel::Warn);
  EXPECT_FALSE(log_enabled(LogLevel::Info));
  EXPECT_TRUE(log_enabled(LogLevel::Error));
  std::string out = capture_stderr([] {
    log_info("hidden");
    log_debug("hidden too");
    log_error("shown");
  });
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("level=error msg=\"shown\""), std::string::npos);

  set_log_level(LogLevel::Off);
  EXPECT_FALSE(log_enabled(LogLevel::Error));
  EXPECT_EQ(capture_stderr([] { log_error("nothing"); }), "");
}

TEST_F(LogTest, ParseAndNameLevels) {
  EXPECT_EQ(parse_log_level("trace"), LogLevel::Trace);
  EXPECT_EQ(parse_log_level("debug"), LogLevel::Debug);
  EXPECT_EQ(parse_log_level("info"), LogLevel::Info);
  EXPECT_EQ(parse_log_level("warn"), LogLevel::Warn);
  EXPECT_EQ(parse_log_level("error"), LogLevel::Error);
  EXPECT_EQ(parse_log_level("off"), LogLevel::Off);
  EXPECT_EQ(parse_log_level("loud"), std::nullopt);
  EXPECT_STREQ(log_level_name(LogLevel::Warn), "warn");
  EXPECT_STREQ(log_level_name(LogLevel::Trace), "trace");
}

}  // namespace
}  // namespace verge
