#include "core/file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace verge {
namespace {

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::string_view line;
  while (next_line(text, line)) out.emplace_back(line);
  return out;
}

TEST(NextLine, SplitsOnNewlinesKeepingEmptyLines) {
  EXPECT_EQ(lines_of("a\nb\n"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(lines_of("a\n\nb"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(lines_of("\n"), (std::vector<std::string>{""}));
  EXPECT_TRUE(lines_of("").empty());
}

TEST(LineError, NamesFileAndLine) {
  EXPECT_EQ(line_error("acl.conf", 7, "unknown action 'pub'").message,
            "acl.conf:7: unknown action 'pub'");
}

TEST(ReadTextFile, ReadsWholeFileAndRefusesMissingOrHuge) {
  char dir[] = "/tmp/verge_file_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/x.txt";
  const std::string body(20000, 'q');  // more than one read buffer
  std::ofstream(path) << body;
  auto ok = read_text_file(path, "test file");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, body);
  auto big = read_text_file(path, "test file", 1000);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message, "cannot read test file '" + path + "': larger than 1000 bytes");
  auto missing = read_text_file(std::string(dir) + "/none", "test file");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "cannot read test file '" + std::string(dir) + "/none': No such file or directory");
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace verge
