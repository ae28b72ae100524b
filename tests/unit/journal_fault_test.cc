// The broker journal on a failing disk: a message it cannot store fails its acknowledgement
// (never a silent success), and the journal works again once the disk does.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "mqtt/journal.h"
#include "mqtt/journal_codec.h"
#include "mqtt/persistence.h"
#include "store/faulty_fs.h"

namespace verge::mqtt {
namespace {

struct Fixture {
  Fixture() {
    char tmpl[] = "/tmp/verge-journal-fault-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
  std::string dir;
  net::EventLoop loop{0};  // never run: only receives the tickets' completions
};

// A ticket whose failure flag the test reads after the journal has let go of it.
TicketRef ticket(Fixture& f) {
  return std::make_shared<AckTicket>(std::make_shared<AckQueue>(nullptr), 0, f.loop);
}

void put_record(Journal& j, const TicketRef& t, size_t bytes) {
  const std::string payload(bytes, 'p');
  auto m = Message::make("t", payload, 1, false, nullptr, 0, 0);
  const Clocks c{1, 1};
  j.put(
      [&](std::string& b) {
        encode_message(b, JournalType::Enqueue, "s", 1, 0, 1, false, 0, {}, m.get(), c);
      },
      &t);
}

TEST(JournalFaults, FullDiskFailsTheAcknowledgementAndTheJournalRecovers) {
  Fixture f;
  store::FaultOptions opts;
  opts.capacity_bytes = 64 * 1024;
  store::FaultyFilesystem fs(store::real_filesystem(), opts);
  auto j = Journal::open(f.dir + "/w0", JournalDurability::Batch, 1 << 20, &fs);
  ASSERT_TRUE(j.has_value()) << j.error().message;

  TicketRef fits = ticket(f);
  put_record(**j, fits, 1000);
  (void)(*j)->flush();
  EXPECT_FALSE(fits->failed());

  TicketRef too_big = ticket(f);
  put_record(**j, too_big, 200 * 1024);
  (void)(*j)->flush();
  EXPECT_TRUE(too_big->failed());  // the PUBACK will say so
  EXPECT_GE((*j)->failures(), 1u);
  EXPECT_GE(fs.counts().enospc, 1u);

  opts.capacity_bytes = 0;  // space freed
  fs.set_options(opts);
  TicketRef after = ticket(f);
  put_record(**j, after, 1000);
  ASSERT_TRUE((*j)->flush().has_value());
  EXPECT_FALSE(after->failed());
  for (const TicketRef& t : {fits, too_big, after}) t->disarm();
}

TEST(JournalFaults, WriteErrorsFailOnlyTheirBatch) {
  Fixture f;
  store::FaultOptions opts;
  opts.seed = 7;
  store::FaultyFilesystem fs(store::real_filesystem(), opts);
  auto j = Journal::open(f.dir + "/w0", JournalDurability::Batch, 1 << 20, &fs);
  ASSERT_TRUE(j.has_value()) << j.error().message;
  int failed = 0;
  int stored = 0;
  for (int round = 0; round < 40; ++round) {
    opts.torn_write = round % 2 == 0 ? 1.0 : 0.0;  // every other batch is torn
    fs.set_options(opts);
    TicketRef t = ticket(f);
    put_record(**j, t, 100);
    (void)(*j)->flush();
    (t->failed() ? failed : stored) += 1;
    EXPECT_EQ(t->failed(), round % 2 == 0) << round;
    t->disarm();
  }
  EXPECT_EQ(failed, 20);
  EXPECT_EQ(stored, 20);
  j->reset();
  // What was acknowledged as stored is exactly what a restart reads back.
  auto log = store::SegmentLog::open(f.dir + "/w0", store::LogOptions{});
  ASSERT_TRUE(log.has_value()) << log.error().message;
  int read_back = 0;
  auto r = (*log)->read(0, 1000, [&](const store::LogRecord& rec) {
    read_back += decode_journal_record(rec.payload).has_value() ? 1 : 0;
    return true;
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(read_back, stored);
}

// Replays the journal in `dir` the way start-up does.
RecoveredState replay(const std::string& dir) {
  RecoveredState st;
  auto log = store::SegmentLog::open(dir, store::LogOptions{});
  EXPECT_TRUE(log.has_value());
  if (!log) return st;
  auto r = (*log)->read(0, 1000000, [&](const store::LogRecord& rec) {
    auto d = decode_journal_record(rec.payload);
    if (d) apply_record(st, std::move(*d));
    return true;
  });
  EXPECT_TRUE(r.has_value());
  return st;
}

TEST(JournalFaults, AFailedBatchIsRepairedByASnapshotOfMemory) {
  Fixture f;
  store::FaultOptions opts;
  store::FaultyFilesystem fs(store::real_filesystem(), opts);
  auto j = Journal::open(f.dir + "/w0", JournalDurability::Batch, 1 << 20, &fs);
  ASSERT_TRUE(j.has_value()) << j.error().message;
  // "Memory": the session and, once subscribed, its subscription.
  bool subscribed = false;
  Subscription sub;
  sub.qos = 1;
  (*j)->set_snapshot_writer([&](Journal& out) {
    out.put(
        [](std::string& b) { encode_session_put(b, "s", true, 60, Version::V5, "", false, {}); });
    if (subscribed) out.put([&](std::string& b) { encode_subscribe(b, "s", "a/#", sub); });
  });

  opts.torn_write = 1.0;  // the batch that creates the session is lost
  fs.set_options(opts);
  TicketRef connack = ticket(f);
  (*j)->put(
      [](std::string& b) { encode_session_put(b, "s", true, 60, Version::V5, "", false, {}); },
      &connack);
  EXPECT_FALSE((*j)->flush().has_value());
  EXPECT_TRUE(connack->failed());

  opts.torn_write = 0;
  fs.set_options(opts);
  subscribed = true;
  TicketRef suback = ticket(f);
  (*j)->put([&](std::string& b) { encode_subscribe(b, "s", "a/#", sub); }, &suback);
  ASSERT_TRUE((*j)->flush().has_value());
  EXPECT_FALSE(suback->failed());  // true only because the journal was rewritten from memory
  for (const TicketRef& t : {connack, suback}) t->disarm();
  j->reset();

  const RecoveredState st = replay(f.dir + "/w0");
  ASSERT_EQ(st.sessions.count("s"), 1u);
  EXPECT_EQ(st.sessions.at("s").subscriptions.count("a/#"), 1u);
  EXPECT_EQ(st.bad_records, 0u);
}

TEST(JournalFaults, ABatchLargerThanASegmentIsStored) {
  Fixture f;
  auto j = Journal::open(f.dir + "/w0", JournalDurability::None);
  ASSERT_TRUE(j.has_value()) << j.error().message;
  (*j)->put(
      [](std::string& b) { encode_session_put(b, "s", true, 60, Version::V5, "", false, {}); });
  TicketRef t = ticket(f);
  for (int i = 0; i < 100; ++i) put_record(**j, t, 300 * 1024);  // 30 MB in one loop batch
  ASSERT_TRUE((*j)->flush().has_value());
  EXPECT_FALSE(t->failed());
  t->disarm();
  j->reset();
  const RecoveredState st = replay(f.dir + "/w0");
  ASSERT_EQ(st.sessions.count("s"), 1u);
  EXPECT_EQ(st.sessions.at("s").messages.size(), 1u);  // every record had seq 1
  EXPECT_EQ(st.records, 101u);
}

}  // namespace
}  // namespace verge::mqtt
