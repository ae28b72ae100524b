#include "mqtt/password_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace verge::mqtt {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "verge_pwXXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(PasswordFile, SetAndVerify) {
  PasswordFile pf;
  ASSERT_TRUE(pf.set("alice", "correct horse").has_value());
  EXPECT_EQ(pf.size(), 1u);
  EXPECT_TRUE(pf.has_user("alice"));
  EXPECT_FALSE(pf.has_user("bob"));
  EXPECT_TRUE(pf.verify("alice", "correct horse"));
  EXPECT_FALSE(pf.verify("alice", "correct horsE"));
  EXPECT_FALSE(pf.verify("alice", ""));
  EXPECT_FALSE(pf.verify("bob", "correct horse"));
  EXPECT_FALSE(pf.verify("", "correct horse"));
}

TEST(PasswordFile, SetReplacesPassword) {
  PasswordFile pf;
  ASSERT_TRUE(pf.set("alice", "one").has_value());
  ASSERT_TRUE(pf.set("alice", "two").has_value());
  EXPECT_EQ(pf.size(), 1u);
  EXPECT_FALSE(pf.verify("alice", "one"));
  EXPECT_TRUE(pf.verify("alice", "two"));
}

TEST(PasswordFile, SetRejectsBadUsernamesAndEmptyPassword) {
  PasswordFile pf;
  EXPECT_FALSE(pf.set("", "pw").has_value());
  EXPECT_FALSE(pf.set("a:b", "pw").has_value());
  EXPECT_FALSE(pf.set("a\nb", "pw").has_value());
  EXPECT_FALSE(pf.set("a\tb", "pw").has_value());
  EXPECT_FALSE(pf.set(std::string_view("a\0b", 3), "pw").has_value());
  EXPECT_FALSE(pf.set("#root", "pw").has_value());
  EXPECT_FALSE(pf.set(" bob", "pw").has_value());
  auto r = pf.set("bob", "");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "empty password");
  EXPECT_EQ(pf.size(), 0u);
}

TEST(PasswordFile, Remove) {
  PasswordFile pf;
  ASSERT_TRUE(pf.set("alice", "a").has_value());
  ASSERT_TRUE(pf.set("bob", "b").has_value());
  EXPECT_TRUE(pf.remove("alice"));
  EXPECT_FALSE(pf.remove("alice"));
  EXPECT_FALSE(pf.has_user("alice"));
  EXPECT_FALSE(pf.verify("alice", "a"));
  EXPECT_TRUE(pf.verify("bob", "b"));
  EXPECT_EQ(pf.size(), 1u);
}

TEST(PasswordFile, SaveLoadRoundTripWithMode0600) {
  TempDir dir;
  std::string path = dir.path + "/passwords.txt";
  PasswordFile pf;
  ASSERT_TRUE(pf.set("alice", "pw-a").has_value());
  ASSERT_TRUE(pf.set("bob", "pw-b").has_value());
  auto saved = pf.save(path);
  ASSERT_TRUE(saved.has_value()) << saved.error().message;

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::string text = read_all(path);
  EXPECT_EQ(text.rfind("alice:$argon2id$v=19$m=16384,t=3,p=1$", 0), 0u) << text;
  EXPECT_EQ(text.find("pw-a"), std::string::npos);

  auto loaded = PasswordFile::load(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_TRUE(loaded->verify("alice", "pw-a"));
  EXPECT_TRUE(loaded->verify("bob", "pw-b"));
  EXPECT_FALSE(loaded->verify("bob", "pw-a"));

  // No temporary files are left behind.
  std::string listing;
  FILE* ls = ::popen(("ls -A '" + dir.path + "'").c_str(), "r");
  ASSERT_NE(ls, nullptr);
  char buf[256];
  while (std::fgets(buf, sizeof buf, ls) != nullptr) listing += buf;
  ::pclose(ls);
  EXPECT_EQ(listing, "passwords.txt\n");
}

TEST(PasswordFile, SaveOverwritesAndTightensMode) {
  TempDir dir;
  std::string path = dir.path + "/pw";
  {
    std::ofstream out(path);
    out << "garbage\n";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  PasswordFile pf;
  ASSERT_TRUE(pf.set("alice", "x").has_value());
  ASSERT_TRUE(pf.save(path).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = PasswordFile::load(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_TRUE(loaded->verify("alice", "x"));
}

TEST(PasswordFile, CommentsAndBlankLinesArePreserved) {
  TempDir dir;
  std::string path = dir.path + "/pw";
  PasswordFile pf;
  ASSERT_TRUE(pf.set("alice", "x").has_value());
  ASSERT_TRUE(pf.save(path).has_value());
  std::string hash_line = read_all(path);
  std::string text = "# users of site A\n\n" + hash_line + "  # indented comment\r\n";
  auto parsed = PasswordFile::parse(text, "pw");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->size(), 1u);
  EXPECT_TRUE(parsed->verify("alice", "x"));
  ASSERT_TRUE(parsed->save(path).has_value());
  EXPECT_EQ(read_all(path), "# users of site A\n\n" + hash_line + "  # indented comment\n");
}

TEST(PasswordFile, ParseErrorsNameTheLine) {
  TempDir dir;
  std::string path = dir.path + "/pw";
  PasswordFile pf;
  ASSERT_TRUE(pf.set("alice", "x").has_value());
  ASSERT_TRUE(pf.save(path).has_value());
  std::string good = read_all(path);  // "alice:$argon2id$...\n"
  std::string hash = good.substr(6, good.size() - 7);

  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"# c\n\nbob\n", "passwords.txt:3: expected 'user:$argon2id$...'"},
      {"bob:plaintext\n", "passwords.txt:1: expected 'user:$argon2id$...'"},
      {"bob:$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA\n",
       "passwords.txt:1: expected 'user:$argon2id$...'"},
      {"bob:$argon2id$v=19$m=16384,t=3,p=1$c2FsdHNhbHRzYWx0$!!\n",
       "passwords.txt:1: expected 'user:$argon2id$...'"},
      {"bob:$argon2id$garbage\n", "passwords.txt:1: expected 'user:$argon2id$...'"},
      {":" + hash + "\n", "passwords.txt:1: empty username"},
      {"a\x01"
       "b:" +
           hash + "\n",
       "passwords.txt:1: username contains a control character"},
      {"alice:" + hash + "\n#\nalice:" + hash + "\n", "passwords.txt:3: duplicate user 'alice'"},
      {"bob:" + hash + "\ncarol:" + hash + " x\n",
       "passwords.txt:2: expected 'user:$argon2id$...'"},
  };
  for (const auto& c : cases) {
    auto r = PasswordFile::parse(c.text, "passwords.txt");
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().message, c.error) << c.text;
  }
  // The same hash under two users is fine.
  auto ok = PasswordFile::parse("bob:" + hash + "\ncarol:" + hash, "passwords.txt");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_TRUE(ok->verify("carol", "x"));
}

TEST(PasswordFile, LoadMissingFileReportsStrerror) {
  TempDir dir;
  std::string path = dir.path + "/missing.txt";
  auto r = PasswordFile::load(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "cannot read password file '" + path + "': No such file or directory");
}

TEST(PasswordFile, SaveIntoMissingDirectoryFails) {
  TempDir dir;
  PasswordFile pf;
  auto r = pf.save(dir.path + "/nope/pw");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("No such file or directory"), std::string::npos)
      << r.error().message;
}

TEST(PasswordFile, EmptyFileHasNoUsers) {
  auto r = PasswordFile::parse("", "pw");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->size(), 0u);
  EXPECT_FALSE(r->verify("anyone", "x"));
}

}  // namespace
}  // namespace verge::mqtt
