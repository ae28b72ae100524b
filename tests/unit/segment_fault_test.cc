// Every reader error path of the segment log, reached by corrupting bytes on purpose, and write
// faults injected through FaultyFilesystem (seeded). The promise under test: recovery keeps
// everything before the damage, and no acknowledged record is ever lost or altered.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "segment_log_test_util.h"
#include "store/checkpoint_file.h"
#include "store/faulty_fs.h"
#include "store/segment_format.h"
#include "store/segment_log.h"

namespace verge::store {
namespace {

using testing::append_wait;
using testing::payload_for;
using testing::read_all;
using testing::read_file_bytes;
using testing::segment_files;
using testing::TempDir;
using testing::write_file_bytes;

std::unique_ptr<SegmentLog> open_log(const std::string& dir, LogOptions o = {}) {
  auto r = SegmentLog::open(dir, std::move(o));
  if (!r) ADD_FAILURE() << r.error().message;
  return r ? std::move(*r) : nullptr;
}

// Positions of the batches in a segment file (each append_wait below makes one batch).
std::vector<uint64_t> batch_positions(const std::string& bytes) {
  MemoryFile f(bytes);
  BatchReader br(f, kSegmentHeaderSize, bytes.size());
  BatchReader::Batch b;
  std::vector<uint64_t> out;
  for (;;) {
    auto r = br.next(b);
    if (!r || !*r) break;
    out.push_back(b.pos);
  }
  return out;
}

// A log of `n` single-record batches in one segment; returns the segment's path. Its recovery
// checkpoint is removed unless asked, as if the process had died before writing one, so the
// next open scans the whole segment.
std::string make_log(const std::string& dir, int n, bool keep_checkpoint = false) {
  {
    auto log = open_log(dir);
    for (int i = 0; i < n; ++i) EXPECT_FALSE(append_wait(*log, {payload_for(i)}).error);
  }
  if (!keep_checkpoint) std::filesystem::remove(dir + "/checkpoint");
  return segment_files(dir).back();
}

// Reopens and checks that exactly records [0, kept) survived, intact, and that the next
// append continues at `kept`.
void expect_recovered(const std::string& dir, uint64_t kept, uint64_t cut) {
  auto log = open_log(dir);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovered_bytes_cut, cut);
  EXPECT_EQ(log->stats().next_offset, kept);
  auto all = read_all(*log);
  ASSERT_EQ(all.size(), kept);
  for (const auto& r : all) EXPECT_EQ(r.payload, payload_for(r.offset));
  EXPECT_EQ(append_wait(*log, {"next"}).first_offset, kept);
  log.reset();
  log = open_log(dir);  // the cut is durable: nothing more to cut
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovered_bytes_cut, 0u);
  EXPECT_EQ(read_all(*log).size(), kept + 1);
}

TEST(SegmentRecovery, TruncatedLastBatchIsCut) {
  TempDir t;
  const auto seg = make_log(t.log(), 10);
  auto bytes = read_file_bytes(seg);
  const auto pos = batch_positions(bytes);
  ASSERT_EQ(pos.size(), 10u);
  std::filesystem::resize_file(seg, bytes.size() - 10);
  expect_recovered(t.log(), 9, bytes.size() - 10 - pos[9]);
}

TEST(SegmentRecovery, FlippedCrcCutsFromThatBatch) {
  TempDir t;
  const auto seg = make_log(t.log(), 10);
  auto bytes = read_file_bytes(seg);
  const auto pos = batch_positions(bytes);
  bytes[pos[6] + 4] ^= 0x01;  // the CRC field of batch 6
  write_file_bytes(seg, bytes);
  expect_recovered(t.log(), 6, bytes.size() - pos[6]);
}

TEST(SegmentRecovery, FlippedPayloadByteCutsFromThatBatch) {
  TempDir t;
  const auto seg = make_log(t.log(), 10);
  auto bytes = read_file_bytes(seg);
  const auto pos = batch_positions(bytes);
  bytes[pos[3] + kBatchHeaderSize + 20] ^= 0x40;
  write_file_bytes(seg, bytes);
  expect_recovered(t.log(), 3, bytes.size() - pos[3]);
}

TEST(SegmentRecovery, BadLengthIsCut) {
  TempDir t;
  const auto seg = make_log(t.log(), 5);
  auto bytes = read_file_bytes(seg);
  const auto pos = batch_positions(bytes);
  const uint32_t huge = 0x7FFFFFFF;
  std::memcpy(bytes.data() + pos[4] + 8, &huge, 4);
  write_file_bytes(seg, bytes);
  expect_recovered(t.log(), 4, bytes.size() - pos[4]);
}

TEST(SegmentRecovery, ZeroFilledTailIsCut) {
  TempDir t;
  const auto seg = make_log(t.log(), 5);
  auto bytes = read_file_bytes(seg);
  const size_t size = bytes.size();
  bytes.append(8192, '\0');  // a file extended by a crash but never written
  write_file_bytes(seg, bytes);
  expect_recovered(t.log(), 5, 8192);
  EXPECT_EQ(read_file_bytes(seg).substr(0, size), bytes.substr(0, size));  // kept byte for byte
}

TEST(SegmentRecovery, HalfWrittenHeaderIsCut) {
  TempDir t;
  const auto seg = make_log(t.log(), 5);
  auto bytes = read_file_bytes(seg);
  const auto pos = batch_positions(bytes);
  bytes += bytes.substr(pos[4], 20);  // the first 20 bytes of a batch header
  write_file_bytes(seg, bytes);
  expect_recovered(t.log(), 5, 20);
}

TEST(SegmentRecovery, GarbageAfterTheLastBatchIsCut) {
  TempDir t;
  const auto seg = make_log(t.log(), 5);
  auto bytes = read_file_bytes(seg);
  bytes += std::string(300, '\x5A');
  write_file_bytes(seg, bytes);
  expect_recovered(t.log(), 5, 300);
}

TEST(SegmentRecovery, BatchWithWrongOffsetIsCut) {
  TempDir t;
  const auto seg = make_log(t.log(), 5);
  auto bytes = read_file_bytes(seg);
  const auto pos = batch_positions(bytes);
  bytes += bytes.substr(pos[2], pos[3] - pos[2]);  // a valid batch, but offset 2 again
  write_file_bytes(seg, bytes);
  expect_recovered(t.log(), 5, pos[3] - pos[2]);
}

TEST(SegmentRecovery, TornHeaderOfANewLastSegmentIsRewritten) {
  TempDir t;
  make_log(t.log(), 5);
  {
    auto log = open_log(t.log());
    ASSERT_TRUE(log->roll());
  }
  // Crash while creating the next segment: its header only partly written.
  const std::string next = t.log() + "/00000000000000000005.seg";
  write_file_bytes(next, std::string("VSE", 3));
  expect_recovered(t.log(), 5, 3);
}

TEST(SegmentRecovery, GarbageFileInTheDirectoryStopsOpen) {
  TempDir t;
  make_log(t.log(), 2);
  write_file_bytes(t.log() + "/notes.txt", "hello");
  auto r = SegmentLog::open(t.log(), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("notes.txt"), std::string::npos) << r.error().message;
  std::filesystem::remove(t.log() + "/notes.txt");
  write_file_bytes(t.log() + "/12.seg", "x");  // not a segment name
  EXPECT_FALSE(SegmentLog::open(t.log(), {}));
}

TEST(SegmentRecovery, DamagedHeaderOfASealedSegmentStopsOpen) {
  TempDir t;
  make_log(t.log(), 3);
  {
    auto log = open_log(t.log());
    ASSERT_TRUE(log->roll());
    ASSERT_FALSE(append_wait(*log, {"x"}).error);
  }
  const auto first = segment_files(t.log()).front();
  auto bytes = read_file_bytes(first);
  bytes[9] ^= 1;  // base offset field: the header CRC no longer matches
  write_file_bytes(first, bytes);
  auto r = SegmentLog::open(t.log(), {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(first), std::string::npos) << r.error().message;
}

TEST(SegmentRecovery, DamagedHeaderOfALastSegmentWithDataStopsOpen) {
  TempDir t;
  const auto seg = make_log(t.log(), 3);
  auto bytes = read_file_bytes(seg);
  bytes[0] = 'X';
  write_file_bytes(seg, bytes);
  EXPECT_FALSE(SegmentLog::open(t.log(), {}));
}

TEST(SegmentRecovery, SealedSegmentsAreNotScannedButDamageIsAReadError) {
  TempDir t;
  make_log(t.log(), 6);
  {
    auto log = open_log(t.log());
    ASSERT_TRUE(log->roll());
    ASSERT_FALSE(append_wait(*log, {"x"}).error);
  }
  const auto first = segment_files(t.log()).front();
  auto bytes = read_file_bytes(first);
  const auto pos = batch_positions(bytes);
  bytes[pos[4] + kBatchHeaderSize + 3] ^= 0x10;
  write_file_bytes(first, bytes);
  auto log = open_log(t.log());  // open does not read sealed segments
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovered_bytes_cut, 0u);
  EXPECT_EQ(log->stats().next_offset, 7u);
  auto r = log->read(0, 100, [](const LogRecord&) { return true; });
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(first), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("position"), std::string::npos) << r.error().message;
  // Records after the damage are still reachable.
  auto tail = read_all(*log, 6);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].payload, "x");
}

// --- recovery checkpoints ---

TEST(SegmentCheckpoint, CleanReopenScansNothing) {
  TempDir t;
  make_log(t.log(), 10, true);
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovery_scanned_bytes, 0u);
  EXPECT_EQ(log->stats().next_offset, 10u);
  auto mid = read_all(*log, 4);
  ASSERT_EQ(mid.size(), 6u);
  for (const auto& r : mid) EXPECT_EQ(r.payload, payload_for(r.offset));
}

TEST(SegmentCheckpoint, ScanStartsAtTheCheckpointAndCutsATornTailAfterIt) {
  TempDir t;
  const auto seg = make_log(t.log(), 10, true);
  const std::string old_checkpoint = read_file_bytes(t.log() + "/checkpoint");
  const uint64_t checkpoint_pos = read_file_bytes(seg).size();
  {
    auto log = open_log(t.log());
    for (int i = 10; i < 15; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
  }
  // A crash after the first checkpoint: the later ones never reached the disk, the last
  // batch is torn.
  write_file_bytes(t.log() + "/checkpoint", old_checkpoint);
  const uint64_t size = read_file_bytes(seg).size() - 10;
  std::filesystem::resize_file(seg, size);
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovery_scanned_bytes, size - checkpoint_pos);
  EXPECT_GT(log->stats().recovered_bytes_cut, 0u);
  auto all = read_all(*log);
  ASSERT_EQ(all.size(), 14u);
  for (const auto& r : all) EXPECT_EQ(r.payload, payload_for(r.offset));
  EXPECT_EQ(read_all(*log, 2, 1).at(0).payload, payload_for(2));  // index from the checkpoint
}

TEST(SegmentCheckpoint, DamagedCheckpointMeansAFullScan) {
  TempDir t;
  const auto seg = make_log(t.log(), 10, true);
  auto text = read_file_bytes(t.log() + "/checkpoint");
  for (size_t at = text.find("pos "); at != std::string::npos; at = text.find("pos ", at + 1)) {
    text[at + 4] ^= 1;  // every entry (the one written at open and the one at close)
  }
  write_file_bytes(t.log() + "/checkpoint", text);
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovery_scanned_bytes, read_file_bytes(seg).size() - kSegmentHeaderSize);
  EXPECT_EQ(read_all(*log).size(), 10u);
}

TEST(SegmentCheckpoint, CheckpointPointingIntoABatchIsNotTrusted) {
  TempDir t;
  const auto seg = make_log(t.log(), 10);
  const auto pos = batch_positions(read_file_bytes(seg));
  Checkpoint c;
  c.segment = 0;
  c.pos = pos[5] + 7;  // not where a batch starts
  c.next = 5;
  write_file_bytes(t.log() + "/checkpoint", encode_checkpoint(c));
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovered_bytes_cut, 0u);
  EXPECT_EQ(read_all(*log).size(), 10u);
}

TEST(SegmentCheckpoint, DamageBeforeTheCheckpointIsAReadErrorNotACut) {
  TempDir t;
  const auto seg = make_log(t.log(), 10, true);
  auto bytes = read_file_bytes(seg);
  const auto pos = batch_positions(bytes);
  bytes[pos[3] + kBatchHeaderSize + 5] ^= 0x20;
  write_file_bytes(seg, bytes);
  auto log = open_log(t.log());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovered_bytes_cut, 0u);  // acknowledged records are never cut
  EXPECT_EQ(log->stats().next_offset, 10u);
  auto r = log->read(0, 100, [](const LogRecord&) { return true; });
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(seg), std::string::npos) << r.error().message;
}

TEST(SegmentCheckpoint, PeriodicCheckpointsBoundTheScanAfterAPowerLoss) {
  TempDir t;
  FaultyFilesystem fs(real_filesystem(), FaultOptions{});
  LogOptions o;
  o.fs = &fs;
  std::vector<std::string> recs(10000);
  uint64_t acked = 0;
  {
    auto log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    for (int k = 0; k < 20; ++k) {  // 20 MB in 1 MB groups, each synced
      for (size_t i = 0; i < recs.size(); ++i) recs[i] = payload_for(acked + i);
      auto a = append_wait(*log, recs);
      ASSERT_FALSE(a.error);
      acked += a.count;
    }
    fs.crash();  // no closing checkpoint
  }
  fs.restart();
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  const uint64_t size = read_file_bytes(segment_files(t.log()).back()).size();
  EXPECT_GT(size, 20'000'000u);
  // At most one checkpoint interval (8 MiB) plus a group, not the whole segment.
  EXPECT_GT(log->stats().recovery_scanned_bytes, 0u);
  EXPECT_LE(log->stats().recovery_scanned_bytes, (8u << 20) + (2u << 20));
  EXPECT_EQ(log->stats().next_offset, acked);
  auto some = read_all(*log, acked / 2, 3);
  ASSERT_EQ(some.size(), 3u);
  EXPECT_EQ(some[0].payload, payload_for(acked / 2));
}

// --- faults injected through the filesystem seam ---

struct Acked {
  std::mutex mu;
  std::map<uint64_t, std::string> records;  // offset -> payload of every acknowledged record
  uint64_t failed = 0, ok_calls = 0;
};

// Appends `n` records one call at a time, waiting for each acknowledgement.
void append_serially(SegmentLog& log, Acked& acked, int n, int tag) {
  for (int i = 0; i < n; ++i) {
    const std::string p = payload_for(static_cast<uint64_t>(tag) * 100000 + i, 50 + i % 100);
    auto a = append_wait(log, {p});
    std::lock_guard g(acked.mu);
    if (a.error) {
      ++acked.failed;
    } else {
      ++acked.ok_calls;
      acked.records[a.first_offset] = p;
    }
  }
}

// The log holds exactly the acknowledged records: dense offsets, same bytes.
void expect_exactly(const SegmentLog& log, const Acked& acked) {
  auto all = read_all(log);
  ASSERT_EQ(all.size(), acked.records.size());
  for (const auto& r : all) {
    auto it = acked.records.find(r.offset);
    ASSERT_NE(it, acked.records.end()) << r.offset;
    EXPECT_EQ(r.payload, it->second) << r.offset;
  }
}

class SegmentFaults : public ::testing::TestWithParam<uint64_t> {};

TEST_P(SegmentFaults, WriteAndSyncErrorsFailOnlyTheirProducers) {
  TempDir t;
  FaultOptions f;
  f.seed = GetParam();
  f.write_eio = 0.05;
  f.short_write = 0.05;
  f.torn_write = 0.05;
  f.sync_eio = 0.05;
  FaultyFilesystem fs(real_filesystem(), FaultOptions{});
  LogOptions o;
  o.fs = &fs;
  o.segment_bytes = 16 << 10;
  Acked acked;
  {
    auto log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    fs.set_options(f);  // faults from the first append on (open itself may fail on them)
    std::vector<std::thread> th;
    for (int k = 0; k < 3; ++k) th.emplace_back([&, k] { append_serially(*log, acked, 150, k); });
    for (auto& x : th) x.join();
    const auto c = fs.counts();
    EXPECT_GT(c.write_eio + c.short_writes + c.torn_writes + c.sync_eio, 0u);
    const auto s = log->stats();
    EXPECT_GT(acked.failed, 0u);
    EXPECT_EQ(s.records_failed, acked.failed);
    EXPECT_EQ(s.write_errors, c.write_eio + c.short_writes + c.torn_writes + c.sync_eio);
    EXPECT_EQ(s.records_appended, acked.records.size());
    fs.set_options(FaultOptions{});  // the disk heals: the same log keeps working
    append_serially(*log, acked, 10, 9);
    EXPECT_EQ(log->stats().records_failed, acked.failed);
    expect_exactly(*log, acked);
  }
  auto log = open_log(t.log());  // and after a reopen on the real filesystem
  ASSERT_TRUE(log);
  EXPECT_EQ(log->stats().recovered_bytes_cut, 0u);
  expect_exactly(*log, acked);
}

TEST_P(SegmentFaults, PowerLossKeepsEveryAcknowledgedRecord) {
  TempDir t;
  FaultOptions f;
  f.seed = GetParam();
  f.torn_write = 0.02;
  FaultyFilesystem fs(real_filesystem(), f);
  LogOptions o;
  o.fs = &fs;
  o.segment_bytes = 8 << 10;
  Acked acked;
  {
    auto log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    std::atomic<bool> crashed{false};
    std::vector<std::thread> th;
    for (int k = 0; k < 3; ++k) {
      th.emplace_back([&, k] {
        for (int i = 0; !crashed; ++i) {
          const std::string p = payload_for(static_cast<uint64_t>(k) * 100000 + i);
          const std::string_view v = p;
          // Not waiting: several appends in flight, so the crash can catch unsynced bytes.
          auto r = log->append({&v, 1}, i, [&acked, p](const AppendResult& a) {
            std::lock_guard g(acked.mu);
            if (!a.error) acked.records[a.first_offset] = p;
          });
          if (!r) break;
          if (i % 8 == 7) (void)log->flush();
        }
      });
    }
    for (;;) {
      std::lock_guard g(acked.mu);
      if (acked.records.size() >= 300 + GetParam() * 37) break;
    }
    fs.crash();
    crashed = true;
    for (auto& x : th) x.join();
  }  // the log closes on a dead disk: every write and sync fails
  fs.restart();
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  auto all = read_all(*log);
  std::map<uint64_t, std::string> got;
  for (auto& r : all) got[r.offset] = r.payload;
  for (const auto& [off, p] : acked.records) {
    auto it = got.find(off);
    ASSERT_NE(it, got.end()) << "acknowledged record " << off << " lost";
    ASSERT_EQ(it->second, p) << off;
  }
  for (uint64_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].offset, i);  // dense
  EXPECT_EQ(append_wait(*log, {"after"}).first_offset, all.size());
}

INSTANTIATE_TEST_SUITE_P(Seeds, SegmentFaults, ::testing::Values(1, 2, 3, 4, 5));

TEST(SegmentFaultsNone, CursorPastRecordsLostInACrashReadsThemAgain) {
  TempDir t;
  FaultyFilesystem fs(real_filesystem(), FaultOptions{});
  LogOptions o;
  o.fs = &fs;
  o.durability = Durability::None;  // acknowledged once written: a crash may take them
  {
    auto log = open_log(t.log(), o);
    ASSERT_TRUE(log);
    ASSERT_FALSE(append_wait(*log, {"synced"}).error);
    ASSERT_TRUE(log->flush());
    for (int i = 0; i < 50; ++i) ASSERT_FALSE(append_wait(*log, {payload_for(i)}).error);
    ASSERT_TRUE(log->commit_cursor("hub", 51));  // the consumer read them all
    fs.crash();
    // A dead disk: the write fails and so does cutting it back out (the segment is "broken");
    // flush must report the failure, not wait forever.
    EXPECT_TRUE(append_wait(*log, {"lost"}).error);
    EXPECT_FALSE(log->flush());
  }
  fs.restart();
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  const uint64_t end = log->stats().next_offset;
  EXPECT_GE(end, 1u);
  EXPECT_LE(end, 51u);
  EXPECT_EQ(log->cursor("hub"), end);  // not 51: new records reuse the lost offsets
  EXPECT_EQ(read_all(*log).front().payload, "synced");
}

TEST(SegmentDiskFull, DropOldestFreesSpaceAndRetries) {
  TempDir t;
  FaultOptions f;
  f.capacity_bytes = 24 << 10;
  FaultyFilesystem fs(real_filesystem(), f);
  LogOptions o;
  o.fs = &fs;
  o.segment_bytes = 4 << 10;
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  Acked acked;
  append_serially(*log, acked, 400, 0);
  const auto s = log->stats();
  EXPECT_GT(s.disk_full_errors, 0u);
  EXPECT_GT(s.records_dropped, 0u);
  EXPECT_EQ(s.records_dropped, s.first_offset);
  EXPECT_LE(fs.used_bytes(), f.capacity_bytes);
  // Every acknowledged record not dropped by the policy is there, intact.
  auto all = read_all(*log);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().offset, s.first_offset);
  for (const auto& r : all) EXPECT_EQ(r.payload, acked.records.at(r.offset));
  EXPECT_EQ(all.back().offset, acked.records.rbegin()->first);
}

TEST(SegmentDiskFull, RefuseNewKeepsWhatIsStoredAndRecovers) {
  TempDir t;
  FaultOptions f;
  f.capacity_bytes = 16 << 10;
  FaultyFilesystem fs(real_filesystem(), f);
  LogOptions o;
  o.fs = &fs;
  o.segment_bytes = 4 << 10;
  o.drop_policy = DropPolicy::RefuseNew;
  auto log = open_log(t.log(), o);
  ASSERT_TRUE(log);
  Acked acked;
  append_serially(*log, acked, 250, 0);
  auto s = log->stats();
  EXPECT_GT(acked.failed, 0u);
  EXPECT_GT(s.disk_full_errors, 0u);
  EXPECT_EQ(s.records_refused, acked.failed);
  EXPECT_EQ(s.records_dropped, 0u);
  EXPECT_EQ(s.first_offset, 0u);
  expect_exactly(*log, acked);
  // More room (an operator cleaned up): appends work again, offsets continue densely.
  f.capacity_bytes = 0;
  fs.set_options(f);
  append_serially(*log, acked, 20, 1);
  EXPECT_EQ(acked.records.rbegin()->first + 1, acked.records.size());
  expect_exactly(*log, acked);
}

}  // namespace
}  // namespace verge::store
