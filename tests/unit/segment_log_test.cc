#include "store/segment_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "core/metrics.h"
#include "segment_log_test_util.h"

namespace verge::store {
namespace {

using testing::append_wait;
using testing::payload_for;
using testing::read_all;
using testing::Rec;
using testing::TempDir;

std::unique_ptr<SegmentLog> open_log(const std::string& dir, LogOptions o = {}) {
  auto r = SegmentLog::open(dir, std::move(o));
  if (!r) ADD_FAILURE() << r.error().message;
  return r ? std::move(*r) : nullptr;
}

TEST(SegmentLog, AppendThenReadRoundTrip) {
  TempDir t;
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  std::vector<Rec> want;
  for (uint64_t i = 0; i < 50; ++i) {
    std::vector<std::string> recs = {payload_for(2 * i), payload_for(2 * i + 1, 7)};
    auto a = append_wait(*log, recs, 1000 + static_cast<int64_t>(i));
    ASSERT_FALSE(a.error);
    EXPECT_EQ(a.first_offset, 2 * i);
    EXPECT_EQ(a.count, 2u);
    want.push_back({2 * i, 1000 + static_cast<int64_t>(i), recs[0]});
    want.push_back({2 * i + 1, 1000 + static_cast<int64_t>(i), recs[1]});
  }
  EXPECT_EQ(read_all(*log), want);
  // From the middle, bounded.
  auto part = read_all(*log, 37, 5);
  ASSERT_EQ(part.size(), 5u);
  EXPECT_EQ(part.front().offset, 37u);
  EXPECT_EQ(part.back().offset, 41u);
  // Past the end: nothing, and the returned offset stays.
  auto end = log->read(100, 10, [](const LogRecord&) { return true; });
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, 100u);
  const auto s = log->stats();
  EXPECT_EQ(s.first_offset, 0u);
  EXPECT_EQ(s.next_offset, 100u);
  EXPECT_EQ(s.pending_bytes, 0u);  // every append was acknowledged
  EXPECT_EQ(s.records_appended, 100u);
  EXPECT_GE(s.syncs, 1u);
  EXPECT_GT(s.bytes_written, s.payload_bytes_appended);
}

TEST(SegmentLog, ReadStopsWhenCallbackSaysSo) {
  TempDir t;
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
  int seen = 0;
  auto r = log->read(3, 100, [&](const LogRecord&) { return ++seen < 2; });
  ASSERT_TRUE(r);
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(*r, 5u);
}

TEST(SegmentLog, ExtremeTimestampsRoundTrip) {
  TempDir t;
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  ASSERT_FALSE(append_wait(*log, {"a"}, INT64_MIN).error);
  ASSERT_FALSE(append_wait(*log, {"b"}, INT64_MAX).error);
  ASSERT_FALSE(append_wait(*log, {""}, -5).error);
  EXPECT_EQ(read_all(*log),
            (std::vector<Rec>{{0, INT64_MIN, "a"}, {1, INT64_MAX, "b"}, {2, -5, ""}}));
}

TEST(SegmentLog, ReopenKeepsRecordsAndContinuesOffsets) {
  TempDir t;
  {
    auto log = open_log(t.log());
    ASSERT_TRUE(log);
    for (int i = 0; i < 20; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
  }
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().next_offset, 20u);
  EXPECT_EQ(log->stats().recovered_bytes_cut, 0u);
  auto a = append_wait(*log, {"after"});
  EXPECT_EQ(a.first_offset, 20u);
  auto all = read_all(*log);
  ASSERT_EQ(all.size(), 21u);
  for (uint64_t i = 0; i < 20; ++i) EXPECT_EQ(all[i].payload, payload_for(i));
  EXPECT_EQ(all[20].payload, "after");
}

TEST(SegmentLog, SmallSegmentsRollAndReadAcrossThemAfterReopen) {
  TempDir t;
  LogOptions o;
  o.segment_bytes = 4096;
  {
    auto log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    for (int i = 0; i < 300; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
    EXPECT_GT(log->stats().segments, 5u);
  }
  EXPECT_GT(testing::segment_files(t.log()).size(), 5u);
  for (const auto& f : testing::segment_files(t.log())) {
    EXPECT_LE(std::filesystem::file_size(f), 4096u) << f;
  }
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  // Sealed segments are indexed lazily on first read; read from several starting points.
  for (uint64_t from : {299u, 150u, 0u, 77u}) {
    auto got = read_all(*log, from);
    ASSERT_EQ(got.size(), 300 - from);
    for (const auto& r : got) EXPECT_EQ(r.payload, payload_for(r.offset));
  }
}

TEST(SegmentLog, RollStartsANewSegmentAndDropBeforeDeletesOldOnes) {
  TempDir t;
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
  auto r = log->roll();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 10u);
  auto again = log->roll();  // nothing since: no empty segment
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 10u);
  for (int i = 10; i < 15; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
  ASSERT_TRUE(log->roll());
  EXPECT_EQ(log->stats().segments, 3u);
  ASSERT_TRUE(log->drop_before(12));  // the segment [10,15) still holds 12..14
  EXPECT_EQ(log->stats().first_offset, 10u);
  ASSERT_TRUE(log->drop_before(15));
  EXPECT_EQ(log->stats().first_offset, 15u);
  EXPECT_EQ(log->stats().segments, 1u);
  EXPECT_EQ(log->stats().records_dropped, 0u);  // explicit, not retention
  EXPECT_TRUE(read_all(*log).empty());
  EXPECT_EQ(append_wait(*log, {"x"}).first_offset, 15u);
  log.reset();
  log = open_log(t.log());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().first_offset, 15u);
  EXPECT_EQ(read_all(*log), (std::vector<Rec>{{15, 1000, "x"}}));
}

TEST(SegmentLog, CursorsAreDurableAndSeveral) {
  TempDir t;
  {
    auto log = open_log(t.log());
    ASSERT_TRUE(log);
    for (int i = 0; i < 10; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
    EXPECT_EQ(log->cursor("hub"), 0u);
    ASSERT_TRUE(log->commit_cursor("hub", 4));
    ASSERT_TRUE(log->commit_cursor("rules", 9));
    ASSERT_TRUE(log->commit_cursor("hub", 6));
    EXPECT_FALSE(log->commit_cursor("bad name", 1));
    EXPECT_FALSE(log->commit_cursor("", 1));
    EXPECT_FALSE(log->commit_cursor("hub", 11));  // beyond the end
  }
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->cursor("hub"), 6u);
  EXPECT_EQ(log->cursor("rules"), 9u);
  EXPECT_EQ(log->cursor("unknown"), 0u);
}

TEST(SegmentLog, DamagedCursorFileStopsOpen) {
  TempDir t;
  {
    auto log = open_log(t.log());
    ASSERT_TRUE(log);
    ASSERT_FALSE(append_wait(*log, {"a"}).error);
    ASSERT_TRUE(log->commit_cursor("hub", 1));
  }
  auto bytes = testing::read_file_bytes(t.log() + "/cursors");
  bytes[bytes.find("hub 1") + 4] = '0';
  testing::write_file_bytes(t.log() + "/cursors", bytes);
  auto r = SegmentLog::open(t.log(), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cursor"), std::string::npos) << r.error().message;
}

TEST(SegmentLog, DeleteConsumedRemovesSegmentsBelowEveryCursor) {
  TempDir t;
  LogOptions o;
  o.delete_consumed = true;
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 10; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(s * 10 + i)}).error);
    ASSERT_TRUE(log->roll());
  }
  ASSERT_TRUE(log->commit_cursor("b", 12));
  EXPECT_EQ(log->stats().first_offset, 10u);  // [0,10) is below the only cursor
  ASSERT_TRUE(log->commit_cursor("a", 25));
  EXPECT_EQ(log->stats().first_offset, 10u);  // b still needs [10,20)
  ASSERT_TRUE(log->commit_cursor("b", 30));
  EXPECT_EQ(log->stats().first_offset, 20u);  // a still needs [20,30)
  EXPECT_EQ(log->stats().records_dropped, 0u);
  EXPECT_EQ(log->cursor("new"), 20u);
}

TEST(SegmentLog, RetentionByBytesDropOldestCountsDroppedRecords) {
  TempDir t;
  LogOptions o;
  o.max_bytes = 64 << 10;
  o.segment_bytes = 8 << 10;
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  for (int i = 0; i < 2000; i += 5) {
    std::vector<std::string> recs;
    for (int k = i; k < i + 5; ++k) recs.push_back(payload_for(k));
    ASSERT_FALSE(append_wait(*log, recs).error);
  }
  const auto s = log->stats();
  EXPECT_LE(s.disk_bytes, o.max_bytes);
  EXPECT_GT(s.records_dropped, 0u);
  EXPECT_EQ(s.records_dropped, s.first_offset);  // everything below first was counted
  EXPECT_EQ(s.next_offset, 2000u);
  auto all = read_all(*log);
  ASSERT_EQ(all.size(), 2000 - s.first_offset);
  EXPECT_EQ(all.back().payload, payload_for(1999));
}

TEST(SegmentLog, RetentionByBytesRefuseNewCountsRefusedRecords) {
  TempDir t;
  LogOptions o;
  o.max_bytes = 32 << 10;
  o.drop_policy = DropPolicy::RefuseNew;
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  uint64_t stored = 0, refused = 0;
  std::atomic<int> dones{0};
  for (int i = 0; i < 1000; ++i) {
    const std::string p = payload_for(i);
    const std::string_view v = p;
    auto r = log->append({&v, 1}, 1, [&](const AppendResult& a) {
      EXPECT_FALSE(a.error);
      ++dones;
    });
    if (r) {
      ++stored;
      ASSERT_TRUE(log->flush());
    } else {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(stored, 100u);
  const auto s = log->stats();
  EXPECT_EQ(s.records_refused, refused);
  EXPECT_EQ(s.records_dropped, 0u);
  EXPECT_EQ(s.first_offset, 0u);  // nothing old was deleted
  EXPECT_LE(s.disk_bytes, o.max_bytes);
  EXPECT_EQ(read_all(*log).size(), stored);
  log.reset();
  EXPECT_EQ(dones.load(), static_cast<int>(stored));  // refused appends never call done
}

TEST(SegmentLog, RetentionByAgeUsesTheClock) {
  TempDir t;
  std::atomic<int64_t> now{1'000'000};
  LogOptions o;
  o.max_age_ms = 60'000;
  o.clock_ms = [&] { return now.load(); };
  {
    auto log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    for (int i = 0; i < 5; ++i) ASSERT_FALSE(append_wait(*log, {"old"}, 1'000'000).error);
    ASSERT_TRUE(log->roll());
    for (int i = 0; i < 5; ++i) ASSERT_FALSE(append_wait(*log, {"new"}, 1'050'000).error);
    ASSERT_TRUE(log->roll());
  }
  auto log = open_log(t.log(), o);  // reopened: segment ages are learnt by a lazy scan
  ASSERT_TRUE(log);
  now = 1'059'000;
  ASSERT_TRUE(log->apply_retention());
  EXPECT_EQ(log->stats().first_offset, 0u);
  now = 1'061'000;
  ASSERT_TRUE(log->apply_retention());
  EXPECT_EQ(log->stats().first_offset, 5u);
  EXPECT_EQ(log->stats().records_dropped, 5u);
  now = 1'200'000;
  ASSERT_TRUE(log->apply_retention());
  EXPECT_EQ(log->stats().first_offset, 10u);  // the active (empty) segment stays
  EXPECT_EQ(log->stats().records_dropped, 10u);
}

TEST(SegmentLog, ConcurrentProducersGetDenseOffsetsAndEveryDoneOnce) {
  for (auto durability : {Durability::Batch, Durability::Interval, Durability::None}) {
    TempDir t;
    LogOptions o;
    o.durability = durability;
    o.interval_ms = 5;
    o.segment_bytes = 256 << 10;
    auto log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    constexpr int kThreads = 4, kPerThread = 3000;
    std::mutex mu;
    std::vector<int> calls(kThreads * kPerThread, 0);
    std::set<uint64_t> offsets;
    std::vector<std::thread> threads;
    for (int t_i = 0; t_i < kThreads; ++t_i) {
      threads.emplace_back([&, t_i] {
        for (int i = 0; i < kPerThread; ++i) {
          const int id = t_i * kPerThread + i;
          const std::string p = "t" + std::to_string(t_i) + ":" + std::to_string(i);
          const std::string_view v = p;
          auto r = log->append({&v, 1}, id, [&, id](const AppendResult& a) {
            std::lock_guard g(mu);
            EXPECT_FALSE(a.error);
            ++calls[id];
            offsets.insert(a.first_offset);
          });
          ASSERT_TRUE(r);
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(log->flush());
    log.reset();  // the destructor drains: every done has run
    for (int c : calls) ASSERT_EQ(c, 1);
    ASSERT_EQ(offsets.size(), static_cast<size_t>(kThreads * kPerThread));
    EXPECT_EQ(*offsets.begin(), 0u);
    EXPECT_EQ(*offsets.rbegin(), static_cast<uint64_t>(kThreads * kPerThread - 1));
    log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    auto all = read_all(*log);
    ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
    std::vector<int> last(kThreads, -1);
    for (uint64_t i = 0; i < all.size(); ++i) {
      ASSERT_EQ(all[i].offset, i);
      const auto colon = all[i].payload.find(':');
      const int th = std::stoi(all[i].payload.substr(1, colon - 1));
      const int n = std::stoi(all[i].payload.substr(colon + 1));
      EXPECT_EQ(n, last[th] + 1);  // each producer's records in its order
      EXPECT_EQ(all[i].ts, th * kPerThread + n);
      last[th] = n;
    }
  }
}

TEST(SegmentLog, ZstdBatchesRoundTripAndSaveSpace) {
  TempDir t;
  LogOptions o;
  o.compress = true;
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  std::vector<std::string> recs;
  for (int i = 0; i < 1000; ++i)
    recs.push_back("{\"device\":\"pump-1\",\"temperature\":41." + std::to_string(i % 10) + "}");
  ASSERT_FALSE(append_wait(*log, recs).error);
  EXPECT_LT(log->stats().bytes_written, log->stats().payload_bytes_appended / 2);
  log.reset();
  log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  auto all = read_all(*log, 500);
  ASSERT_EQ(all.size(), 500u);
  for (const auto& r : all) EXPECT_EQ(r.payload, recs[r.offset]);
}

TEST(SegmentLog, RefusesRecordsLargerThanASegment) {
  TempDir t;
  LogOptions o;
  o.segment_bytes = 4096;
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  const std::string big(5000, 'x');
  const std::string_view v = big;
  bool called = false;
  auto r = log->append({&v, 1}, 1, [&](const AppendResult&) { called = true; });
  EXPECT_FALSE(r);
  EXPECT_EQ(log->stats().records_refused, 1u);
  EXPECT_FALSE(log->append({}, 1, nullptr));
  EXPECT_FALSE(append_wait(*log, {std::string(3000, 'y')}).error);  // fits
  log.reset();
  EXPECT_FALSE(called);
}

TEST(SegmentLog, FlushMakesNoneAndIntervalDurable) {
  for (auto d : {Durability::None, Durability::Interval}) {
    TempDir t;
    LogOptions o;
    o.durability = d;
    o.interval_ms = 3'600'000;
    auto log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    for (int i = 0; i < 10; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
    const auto before = log->stats().syncs;
    ASSERT_TRUE(log->flush());
    EXPECT_EQ(log->stats().syncs, before + 1);
    ASSERT_TRUE(log->flush());  // nothing new: no sync
    EXPECT_EQ(log->stats().syncs, before + 1);
  }
}

TEST(SegmentLog, IntervalSyncsOnItsOwnAndRecordsAreReadableBeforeThat) {
  TempDir t;
  LogOptions o;
  o.durability = Durability::Interval;
  o.interval_ms = 2;
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  ASSERT_FALSE(append_wait(*log, {"first"}).error);
  EXPECT_EQ(read_all(*log).size(), 1u);  // written, maybe not synced yet: readable
  // Each append is a writer round; once 2 ms have passed, a round syncs. No flush() here.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  uint64_t i = 0;
  while (log->stats().syncs < 3 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_FALSE(append_wait(*log, {payload_for(i++)}).error);
  }
  EXPECT_GE(log->stats().syncs, 3u);
}

TEST(SegmentLog, MetricsAreLabelledAndOutliveTheLog) {
  TempDir t;
  metrics::Registry reg;
  {
    auto log = open_log(t.log());
    ASSERT_TRUE(log);
    log->register_metrics(reg, "uplink");
    ASSERT_FALSE(append_wait(*log, {"abc", "de"}).error);
    const std::string text = reg.render();
    EXPECT_NE(text.find("verge_log_records_appended_total{log=\"uplink\"} 2"), std::string::npos)
        << text;
    EXPECT_NE(text.find("verge_log_payload_bytes_total{log=\"uplink\"} 5"), std::string::npos);
    EXPECT_NE(text.find("verge_log_segments{log=\"uplink\"} 1"), std::string::npos);
    EXPECT_NE(text.find("verge_log_disk_full_errors_total{log=\"uplink\"} 0"), std::string::npos);
  }
  EXPECT_EQ(reg.render().find("log=\"uplink\""), std::string::npos);  // no dangling collector
}

TEST(SegmentLog, AnIdleLogDoesNotWaitToGroupCommits) {
  TempDir t;
  LogOptions o;
  o.batch_wait_us = 600'000'000;  // 10 minutes: any wait while idle would be obvious
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
  EXPECT_EQ(log->stats().syncs, 20u);  // one write and one sync per record, no grouping delay
}

TEST(SegmentLog, CallbacksMayAppendAgain) {
  TempDir t;
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  std::promise<uint64_t> second;
  const std::string_view a = "first", b = "second";
  ASSERT_TRUE(log->append({&a, 1}, 1, [&](const AppendResult&) {
    auto r =
        log->append({&b, 1}, 2, [&](const AppendResult& r2) { second.set_value(r2.first_offset); });
    EXPECT_TRUE(r);
  }));
  EXPECT_EQ(second.get_future().get(), 1u);
}

}  // namespace
}  // namespace verge::store
