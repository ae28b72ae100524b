// The broker journal on a real segment log: generations, replay and snapshot compaction.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "mqtt/journal.h"
#include "mqtt/persistence.h"

namespace verge::mqtt {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/verge-journal-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const Clocks kClocks{1000, 1700000000000};

void put_session(Journal& j, const std::string& id) {
  j.put([&](std::string& b) { encode_session_put(b, id, true, 300, Version::V5, "", false, {}); });
}

void put_message(Journal& j, const std::string& id, uint64_t seq) {
  auto m = Message::make("t/" + std::to_string(seq), "payload", 1, false, nullptr, 0, 0);
  j.put([&](std::string& b) {
    encode_message(b, JournalType::Enqueue, id, seq, 0, 1, false, 0, {}, m.get(), kClocks);
  });
}

TEST(JournalGeneration, NothingOnDiskIsAnEmptyState) {
  TempDir d;
  auto st = JournalGeneration::load(d.path() + "/mqtt");
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_TRUE(st->sessions.empty());
  EXPECT_EQ(st->records, 0u);
}

TEST(JournalGeneration, PublishedGenerationIsReplayedAndOldOnesDeleted) {
  TempDir d;
  const std::string dir = d.path() + "/mqtt";
  for (int round = 0; round < 2; ++round) {
    auto gen = JournalGeneration::create(dir, 2, JournalDurability::Batch);
    ASSERT_TRUE(gen.has_value()) << gen.error().message;
    Journal& j = *gen->journals()[round];  // sessions may move between workers
    put_session(j, "a");
    put_message(j, "a", 1);
    put_message(j, "a", 2);
    j.put([](std::string& b) { encode_done(b, "a", 1); });
    for (auto& journal : gen->journals()) ASSERT_TRUE(journal->flush().has_value());
    ASSERT_TRUE(gen->publish().has_value());
  }
  auto st = JournalGeneration::load(dir);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  ASSERT_EQ(st->sessions.count("a"), 1u);
  EXPECT_EQ(st->sessions.at("a").messages.size(), 1u);
  EXPECT_EQ(st->sessions.at("a").messages.begin()->second.msg.topic, "t/2");
  EXPECT_FALSE(std::filesystem::exists(dir + "/gen-1"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/gen-2"));
}

TEST(JournalGeneration, UnpublishedGenerationIsIgnored) {
  TempDir d;
  const std::string dir = d.path() + "/mqtt";
  {
    auto gen = JournalGeneration::create(dir, 1, JournalDurability::Batch);
    ASSERT_TRUE(gen.has_value());
    put_session(*gen->journals()[0], "kept");
    ASSERT_TRUE(gen->journals()[0]->flush().has_value());
    ASSERT_TRUE(gen->publish().has_value());
  }
  {
    // A start-up that crashed before switching CURRENT: its half-written generation is not live.
    auto gen = JournalGeneration::create(dir, 1, JournalDurability::Batch);
    ASSERT_TRUE(gen.has_value());
    put_session(*gen->journals()[0], "half");
    ASSERT_TRUE(gen->journals()[0]->flush().has_value());
  }
  auto st = JournalGeneration::load(dir);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->sessions.count("kept"), 1u);
  EXPECT_EQ(st->sessions.count("half"), 0u);
}

TEST(JournalGeneration, ForeignPointerFileStopsStartUp) {
  TempDir d;
  const std::string dir = d.path() + "/mqtt";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/CURRENT") << "verge-mqtt-journal 9 gen 1\n";
  auto st = JournalGeneration::load(dir);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("CURRENT"), std::string::npos) << st.error().message;
}

TEST(Journal, CompactionKeepsTheStateAndDropsThePast) {
  TempDir d;
  const std::string dir = d.path() + "/mqtt";
  auto gen = JournalGeneration::create(dir, 1, JournalDurability::None);
  ASSERT_TRUE(gen.has_value());
  Journal& j = *gen->journals()[0];
  put_session(j, "s");
  // Enough traffic for several segments (the journal uses 16 MiB segments): 40 MB of messages,
  // all acknowledged but the last.
  const std::string big(4000, 'x');
  auto m = Message::make("t", big, 1, false, nullptr, 0, 0);
  for (uint64_t seq = 1; seq <= 10000; ++seq) {
    j.put([&](std::string& b) {
      encode_message(b, JournalType::Enqueue, "s", seq, 0, 1, false, 0, {}, m.get(), kClocks);
    });
    if (seq < 10000) j.put([&](std::string& b) { encode_done(b, "s", seq); });
    if (seq % 100 == 0) j.commit();
  }
  ASSERT_TRUE(j.flush().has_value());
  const uint64_t before = j.disk_bytes();
  EXPECT_GT(before, 32u << 20);
  auto compacted = j.compact([&](Journal& out) {
    put_session(out, "s");
    out.put([&](std::string& b) {
      encode_message(b, JournalType::Enqueue, "s", 10000, 0, 1, false, 0, {}, m.get(), kClocks);
    });
  });
  ASSERT_TRUE(compacted.has_value()) << compacted.error().message;
  EXPECT_LT(j.disk_bytes(), before / 4);
  ASSERT_TRUE(gen->publish().has_value());
  gen->journals().clear();
  auto st = JournalGeneration::load(dir);
  ASSERT_TRUE(st.has_value());
  ASSERT_EQ(st->sessions.at("s").messages.size(), 1u);
  EXPECT_EQ(st->sessions.at("s").messages.begin()->first, 10000u);
}

}  // namespace
}  // namespace verge::mqtt
