// The uplink sender against real segment logs and a fake transport: batching by size and time,
// the window, acks committing the cursor, resends, priorities, quarantine, gaps and order.
#include "sync/uplink_sender.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "segment_log_test_util.h"
#include "sync/batch.h"

namespace verge::sync {
namespace {

using store::testing::append_wait;
using store::testing::TempDir;

struct Sent {
  std::string stream;
  uint64_t first, count;
  std::vector<std::string> payloads;
  bool gap_before = false;
};

class FakeTransport final : public UplinkTransport {
 public:
  bool up = true;
  std::vector<Sent> sent;
  bool ready() const override { return up; }
  void send(const std::string& stream, uint64_t first, uint64_t count, std::string batch) override {
    auto d = decode_batch(batch);
    EXPECT_TRUE(d.has_value());
    Sent s{stream, first, count, {}, false};
    if (d) {
      s.gap_before = d->gap_before;
      EXPECT_EQ(d->first_seq, first);
      EXPECT_EQ(d->records.size(), count);
      for (const auto& r : d->records) s.payloads.emplace_back(r.payload);
    }
    sent.push_back(std::move(s));
  }
};

// The hub's ingest rule for one stream (docs/formats/hub-ingest.md): duplicates dropped, a batch
// above next stored only with "gap before", otherwise refused with the unchanged next as the ack.
struct MiniHub {
  uint64_t next = 0, gaps = 0, refused = 0;
  std::vector<uint64_t> stored_seqs;
  std::vector<std::string> stored;
  uint64_t deliver(const Sent& b) {
    const uint64_t end = b.first + b.count;
    if (end <= next) return next;
    if (b.first > next) {
      if (!b.gap_before) {
        ++refused;
        return next;
      }
      gaps += b.first - next;
    }
    for (uint64_t seq = std::max(next, b.first); seq < end; ++seq) {
      stored_seqs.push_back(seq);
      stored.push_back(b.payloads[seq - b.first]);
    }
    next = end;
    return next;
  }
};

std::vector<std::string> records(int from, int n, size_t pad = 0) {
  std::vector<std::string> out;
  for (int i = from; i < from + n; ++i) {
    out.push_back("{\"i\":" + std::to_string(i) + "}" + std::string(pad, ' '));
  }
  return out;
}

class UplinkSenderTest : public ::testing::Test {
 protected:
  store::SegmentLog& open_log(const std::string& name) {
    store::LogOptions lo;
    lo.durability = store::Durability::None;
    auto log = store::SegmentLog::open(dir_.path() + "/" + name, lo);
    EXPECT_TRUE(log.has_value());
    logs_.push_back(std::move(*log));
    return *logs_.back();
  }
  std::unique_ptr<UplinkSender> make_sender(UplinkSendOptions o) {
    return std::make_unique<UplinkSender>(o, transport_, quarantine_path());
  }
  std::string quarantine_path() const { return dir_.path() + "/quarantine.jsonl"; }
  UplinkStreamStats stats_of(const UplinkSender& s, const std::string& name) {
    for (auto& st : s.stats(0)) {
      if (st.stream == name) return st;
    }
    ADD_FAILURE() << "no stream " << name;
    return {};
  }

  TempDir dir_;
  std::vector<std::unique_ptr<store::SegmentLog>> logs_;
  FakeTransport transport_;
};

TEST_F(UplinkSenderTest, BatchesByCountThenLingersForAPartialBatch) {
  auto& log = open_log("s");
  append_wait(log, records(0, 25));
  UplinkSendOptions o;
  o.batch_records = 10;
  o.linger_ms = 50;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);

  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 2u);  // two full batches; the last 5 wait for more
  EXPECT_EQ(transport_.sent[0].first, 0u);
  EXPECT_EQ(transport_.sent[1].first, 10u);
  EXPECT_EQ(transport_.sent[1].payloads.front(), "{\"i\":10}");
  sender->pump(1049);
  EXPECT_EQ(transport_.sent.size(), 2u);
  sender->pump(1050);
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_EQ(transport_.sent[2].first, 20u);
  EXPECT_EQ(transport_.sent[2].count, 5u);
}

TEST_F(UplinkSenderTest, BatchesByBytes) {
  auto& log = open_log("s");
  append_wait(log, records(0, 6, 100));  // ~108 bytes each
  UplinkSendOptions o;
  o.batch_bytes = 300;  // two records (with their overhead) fit, three do not
  o.linger_ms = 0;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(1);
  ASSERT_EQ(transport_.sent.size(), 3u);
  for (const auto& s : transport_.sent) EXPECT_EQ(s.count, 2u);
}

TEST_F(UplinkSenderTest, WindowLimitsBatchesInFlight) {
  auto& log = open_log("s");
  append_wait(log, records(0, 50));
  UplinkSendOptions o;
  o.batch_records = 10;
  o.window = 2;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(1000);
  EXPECT_EQ(transport_.sent.size(), 2u);
  sender->pump(2000);
  EXPECT_EQ(transport_.sent.size(), 2u);  // nothing acked: the window stays full
  EXPECT_EQ(stats_of(*sender, "s").inflight_batches, 2u);
  sender->on_ack("s", 10, 2001);  // one batch acked: one more goes
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_EQ(transport_.sent[2].first, 20u);

  transport_.up = false;  // back-pressure from the link: nothing is queued
  sender->on_ack("s", 30, 2002);
  EXPECT_EQ(transport_.sent.size(), 3u);
}

TEST_F(UplinkSenderTest, AckCommitsTheCursorAtMostEveryInterval) {
  auto& log = open_log("s");
  append_wait(log, records(0, 30));
  UplinkSendOptions o;
  o.batch_records = 10;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 3u);

  sender->on_ack("s", 10, 1000);
  EXPECT_EQ(log.cursor("hub"), 10u);  // the first ack after a quiet time commits at once
  sender->on_ack("s", 20, 1010);
  EXPECT_EQ(log.cursor("hub"), 10u);  // within the interval: not yet durable...
  auto st = stats_of(*sender, "s");
  EXPECT_EQ(st.acked, 10u);  // ...so not reported as acknowledged either
  EXPECT_EQ(st.records_acked, 10u);
  EXPECT_EQ(st.backlog_records, 20u);
  sender->tick(1000 + UplinkSender::kCommitIntervalMs);
  EXPECT_EQ(log.cursor("hub"), 20u);
  EXPECT_EQ(stats_of(*sender, "s").acked, 20u);

  sender->on_ack("s", 30, 1200);
  sender->flush_commits(1201);
  EXPECT_EQ(log.cursor("hub"), 30u);
  st = stats_of(*sender, "s");
  EXPECT_EQ(st.backlog_records, 0u);
  EXPECT_EQ(st.records_sent, 30u);
  EXPECT_GT(st.bytes_sent, 0u);
  EXPECT_GT(st.bytes_produced, 0u);

  // A new sender (a restart) starts at the committed cursor.
  transport_.sent.clear();
  append_wait(log, records(30, 5));
  auto again = make_sender(o);
  again->add_stream("s", &log);
  again->pump(5000);
  again->pump(5100);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].first, 30u);
}

TEST_F(UplinkSenderTest, ResendAfterReconnectStartsAtTheLastAck) {
  auto& log = open_log("s");
  append_wait(log, records(0, 30));
  UplinkSendOptions o;
  o.batch_records = 10;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 3u);
  sender->on_ack("s", 10, 1001);

  transport_.up = false;
  sender->on_disconnected();
  transport_.sent.clear();
  transport_.up = true;
  sender->pump(1500);
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(transport_.sent[0].first, 10u);
  EXPECT_EQ(transport_.sent[0].payloads.front(), "{\"i\":10}");
  EXPECT_EQ(transport_.sent[1].first, 20u);
  EXPECT_EQ(stats_of(*sender, "s").records_resent, 20u);
}

TEST_F(UplinkSenderTest, AckTimeoutResendsFromTheLastAck) {
  auto& log = open_log("s");
  append_wait(log, records(0, 20));
  UplinkSendOptions o;
  o.batch_records = 10;
  o.ack_timeout_ms = 5000;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 2u);
  sender->on_ack("s", 10, 1100);
  sender->tick(5999);
  EXPECT_EQ(transport_.sent.size(), 2u);
  sender->tick(6000);  // the unacked batch was sent at 1000
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_EQ(transport_.sent[2].first, 10u);
}

TEST_F(UplinkSenderTest, AlarmsAreDrainedBeforeTelemetry) {
  auto& samples = open_log("samples");
  auto& alarms = open_log("alarms");
  append_wait(samples, records(0, 40));
  append_wait(alarms, records(0, 30));
  UplinkSendOptions o;  // default priorities: alarms 0, samples 200
  o.batch_records = 10;
  o.window = 1;
  o.linger_ms = 0;
  auto sender = make_sender(o);
  sender->add_stream("samples", &samples);
  sender->add_stream("alarms", &alarms);

  sender->pump(1000);
  uint64_t now = 1000;
  for (int i = 0; i < 20 && transport_.sent.size() < 7; ++i) {
    const Sent last = transport_.sent.back();
    sender->on_ack(last.stream, last.first + last.count, ++now);
  }
  sender->on_ack("alarms", 30, ++now);  // its last batch went with the first telemetry batch
  ASSERT_EQ(transport_.sent.size(), 7u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(transport_.sent[i].stream, "alarms") << i;
  for (size_t i = 3; i < 7; ++i) EXPECT_EQ(transport_.sent[i].stream, "samples") << i;

  // A new alarm while telemetry drains goes next; telemetry waits for it.
  append_wait(alarms, records(30, 1));
  transport_.sent.clear();
  sender->pump(now + 1000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].stream, "alarms");
}

TEST_F(UplinkSenderTest, OversizedRecordIsQuarantinedAndSkipped) {
  auto& log = open_log("s");
  append_wait(log, records(0, 3));
  append_wait(log, {std::string(5000, 'x')});
  append_wait(log, records(4, 3));
  UplinkSendOptions o;
  o.batch_bytes = 1000;
  o.linger_ms = 0;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(1000);
  // The batch after the hole waits until the one before it is acknowledged: its "gap before"
  // tells the hub that everything from the hub's next up to 4 is gone.
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].first, 0u);
  EXPECT_EQ(transport_.sent[0].count, 3u);
  EXPECT_FALSE(transport_.sent[0].gap_before);
  sender->on_ack("s", 3, 1001);
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(transport_.sent[1].first, 4u);
  EXPECT_EQ(transport_.sent[1].count, 3u);
  EXPECT_TRUE(transport_.sent[1].gap_before);
  EXPECT_EQ(stats_of(*sender, "s").quarantined, 1u);

  std::ifstream in(quarantine_path());
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto q = parse_json(line);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->find("seq")->as_int(), 3);
  EXPECT_EQ(q->find("stream")->as_string(), "s");
  EXPECT_NE(q->find("reason")->as_string().find("larger than a batch"), std::string::npos);
  EXPECT_EQ(q->find("payload")->as_string().size(), 5000u);
  EXPECT_FALSE(std::getline(in, line));

  // Acks past it move the cursor over it; a resend does not quarantine it twice, and says the
  // hole is there again.
  sender->on_disconnected();
  transport_.sent.clear();
  sender->pump(2000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].first, 4u);
  EXPECT_TRUE(transport_.sent[0].gap_before);
  sender->on_ack("s", 7, 2200);
  sender->flush_commits(2300);
  EXPECT_EQ(log.cursor("hub"), 7u);
  EXPECT_EQ(stats_of(*sender, "s").quarantined, 1u);
}

TEST_F(UplinkSenderTest, TrailingQuarantinedRecordDoesNotHoldTheCursor) {
  auto& log = open_log("s");
  append_wait(log, records(0, 2));
  append_wait(log, {std::string(5000, 'x')});
  UplinkSendOptions o;
  o.batch_bytes = 1000;
  o.linger_ms = 0;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  sender->on_ack("s", 2, 1001);
  sender->pump(1002);
  sender->flush_commits(1003);
  EXPECT_EQ(log.cursor("hub"), 3u);
  EXPECT_EQ(stats_of(*sender, "s").backlog_records, 0u);
  // The hub never heard of record 2: the next batch declares the gap (its next is 2, not 3).
  append_wait(log, records(3, 2));
  sender->pump(1004);
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(transport_.sent[1].first, 3u);
  EXPECT_TRUE(transport_.sent[1].gap_before);
}

// The cursor was moved past a quarantined record the hub never heard of, then the node restarted:
// the first batch from the cursor declares everything below it gone, so the hub (next 2) takes it.
TEST_F(UplinkSenderTest, FirstBatchAfterARestartDeclaresWhatIsBelowTheCursor) {
  auto& log = open_log("s");
  append_wait(log, records(0, 2));
  append_wait(log, {std::string(5000, 'x')});
  UplinkSendOptions o;
  o.batch_bytes = 1000;
  o.linger_ms = 0;
  MiniHub hub;
  {
    auto sender = make_sender(o);
    sender->add_stream("s", &log);
    sender->pump(1000);
    ASSERT_EQ(transport_.sent.size(), 1u);
    EXPECT_FALSE(transport_.sent[0].gap_before);  // from cursor 0: nothing below it
    sender->on_ack("s", hub.deliver(transport_.sent[0]), 1001);
    sender->pump(1002);
    sender->flush_commits(1003);
    ASSERT_EQ(log.cursor("hub"), 3u);
  }
  append_wait(log, records(3, 4));
  transport_.sent.clear();
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(2000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].first, 3u);
  EXPECT_TRUE(transport_.sent[0].gap_before);
  sender->on_ack("s", hub.deliver(transport_.sent[0]), 2001);
  EXPECT_EQ(hub.next, 7u);
  EXPECT_EQ(hub.gaps, 1u);
  EXPECT_EQ(hub.refused, 0u);
  EXPECT_EQ(hub.stored_seqs, (std::vector<uint64_t>{0, 1, 3, 4, 5, 6}));
  sender->flush_commits(2002);
  EXPECT_EQ(log.cursor("hub"), 7u);
}

// Batch 2 of 3 never reaches the hub (lost, or the hub failed to store it). Batch 3 has no "gap
// before", so the hub refuses it and acks 10 again; at the ack timeout the sender resends 2 and 3
// from the last ack, and the hub ends with every record exactly once, no gap.
TEST_F(UplinkSenderTest, LostBatchIsResentAndTheOneAfterItIsNotStoredAhead) {
  auto& log = open_log("s");
  append_wait(log, records(0, 30));
  UplinkSendOptions o;
  o.batch_records = 10;
  o.window = 8;
  o.linger_ms = 0;
  o.ack_timeout_ms = 5000;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  MiniHub hub;
  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 3u);
  for (const auto& b : transport_.sent) EXPECT_FALSE(b.gap_before) << b.first;
  sender->on_ack("s", hub.deliver(transport_.sent[0]), 1001);  // stored: ack 10
  // transport_.sent[1] is lost.
  const uint64_t ack = hub.deliver(transport_.sent[2]);
  EXPECT_EQ(ack, 10u);
  EXPECT_EQ(hub.refused, 1u);
  sender->on_ack("s", ack, 1002);  // does not advance: nothing happens before the timeout
  EXPECT_EQ(transport_.sent.size(), 3u);
  sender->tick(5999);
  EXPECT_EQ(transport_.sent.size(), 3u);
  sender->tick(6000);
  ASSERT_EQ(transport_.sent.size(), 5u);
  EXPECT_EQ(transport_.sent[3].first, 10u);
  EXPECT_EQ(transport_.sent[4].first, 20u);
  for (size_t i = 3; i < 5; ++i) {
    EXPECT_FALSE(transport_.sent[i].gap_before);
    sender->on_ack("s", hub.deliver(transport_.sent[i]), 6001 + i);
  }
  EXPECT_EQ(transport_.sent.size(), 5u);
  EXPECT_EQ(hub.next, 30u);
  EXPECT_EQ(hub.gaps, 0u);
  EXPECT_EQ(hub.refused, 1u);
  std::vector<uint64_t> want;
  for (uint64_t i = 0; i < 30; ++i) want.push_back(i);
  EXPECT_EQ(hub.stored_seqs, want);  // each once, in order
  EXPECT_EQ(hub.stored, records(0, 30));
  sender->flush_commits(7000);
  EXPECT_EQ(log.cursor("hub"), 30u);
  const auto st = stats_of(*sender, "s");
  EXPECT_EQ(st.records_acked, 30u);
  EXPECT_EQ(st.inflight_batches, 0u);
  EXPECT_EQ(st.records_resent, 20u);
}

// Retention drops records while a batch is in flight: the batch after the hole waits for that
// ack, then goes with "gap before". Lost once, it is resent with the flag again (the hole is
// still there), and the hub stores it as a declared gap.
TEST_F(UplinkSenderTest, RetentionGapIsDeclaredAndResentWithTheFlag) {
  auto& log = open_log("s");
  append_wait(log, records(0, 10));
  ASSERT_TRUE(log.roll());
  append_wait(log, records(10, 10));
  ASSERT_TRUE(log.roll());
  append_wait(log, records(20, 5));
  UplinkSendOptions o;
  o.batch_records = 10;
  o.linger_ms = 0;
  o.ack_timeout_ms = 5000;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  MiniHub hub;
  sender->pump(1000);  // [0, 10) and [10, 20) read before retention
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_FALSE(transport_.sent[0].gap_before);
  EXPECT_FALSE(transport_.sent[1].gap_before);
  EXPECT_FALSE(transport_.sent[2].gap_before);
  // [10, 20) and [20, 25) are lost; retention deletes [0, 20) at the node.
  sender->on_ack("s", hub.deliver(transport_.sent[0]), 1001);
  ASSERT_TRUE(log.drop_before(20));
  ASSERT_EQ(log.stats().first_offset, 20u);
  sender->tick(6000);  // resend from 10: only [20, 25) is left, after a hole, with the flag
  ASSERT_EQ(transport_.sent.size(), 4u);
  EXPECT_EQ(transport_.sent[3].first, 20u);
  EXPECT_EQ(transport_.sent[3].count, 5u);
  EXPECT_TRUE(transport_.sent[3].gap_before);
  EXPECT_EQ(stats_of(*sender, "s").dropped, 10u);
  // Lost again: the next resend still declares the hole.
  sender->tick(11'000);
  ASSERT_EQ(transport_.sent.size(), 5u);
  EXPECT_EQ(transport_.sent[4].first, 20u);
  EXPECT_TRUE(transport_.sent[4].gap_before);
  sender->on_ack("s", hub.deliver(transport_.sent[4]), 11'001);
  EXPECT_EQ(hub.next, 25u);
  EXPECT_EQ(hub.gaps, 10u);
  EXPECT_EQ(hub.refused, 0u);
  std::vector<uint64_t> want;
  for (uint64_t i = 0; i < 10; ++i) want.push_back(i);
  for (uint64_t i = 20; i < 25; ++i) want.push_back(i);
  EXPECT_EQ(hub.stored_seqs, want);
  sender->flush_commits(11'002);
  EXPECT_EQ(log.cursor("hub"), 25u);
  EXPECT_EQ(stats_of(*sender, "s").dropped, 10u);  // counted once across the resends
}

// Retention drops records not yet read while the batch before them is in flight: the batch after
// the hole is held until that ack (its flag says everything from the hub's next on is gone).
TEST_F(UplinkSenderTest, BatchAfterARetentionHoleWaitsForTheBatchBefore) {
  auto& log = open_log("s");
  append_wait(log, records(0, 10));
  UplinkSendOptions o;
  o.batch_records = 10;
  o.linger_ms = 0;
  o.window = 8;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  MiniHub hub;
  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  ASSERT_TRUE(log.roll());
  append_wait(log, records(10, 10));
  ASSERT_TRUE(log.roll());
  append_wait(log, records(20, 5));
  ASSERT_TRUE(log.drop_before(20));  // [10, 20) never sent; [0, 10) is in flight
  sender->pump(1001);
  EXPECT_EQ(transport_.sent.size(), 1u);  // [20, 25) waits
  EXPECT_EQ(stats_of(*sender, "s").dropped, 10u);
  sender->on_ack("s", hub.deliver(transport_.sent[0]), 1002);
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(transport_.sent[1].first, 20u);
  EXPECT_TRUE(transport_.sent[1].gap_before);
  sender->on_ack("s", hub.deliver(transport_.sent[1]), 1003);
  EXPECT_EQ(hub.next, 25u);
  EXPECT_EQ(hub.gaps, 10u);
  EXPECT_EQ(hub.stored_seqs.size(), 15u);
}

// A quarantined record makes a hole after a batch that is then lost: the batch after the hole is
// held, so its "gap before" never covers the lost records. They are resent at the ack timeout,
// and only the quarantined record ends up as the hub's gap.
TEST_F(UplinkSenderTest, LostBatchBeforeAQuarantineHoleIsNotDeclaredGone) {
  auto& log = open_log("s");
  append_wait(log, records(0, 3));
  append_wait(log, {std::string(5000, 'x')});
  append_wait(log, records(4, 3));
  UplinkSendOptions o;
  o.batch_bytes = 1000;
  o.linger_ms = 0;
  o.ack_timeout_ms = 5000;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  MiniHub hub;
  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 1u);  // [0, 3) goes and is lost; [4, 7) waits for its ack
  sender->tick(6000);
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(transport_.sent[1].first, 0u);
  EXPECT_FALSE(transport_.sent[1].gap_before);
  sender->on_ack("s", hub.deliver(transport_.sent[1]), 6001);
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_EQ(transport_.sent[2].first, 4u);
  EXPECT_TRUE(transport_.sent[2].gap_before);
  sender->on_ack("s", hub.deliver(transport_.sent[2]), 6002);
  EXPECT_EQ(hub.stored_seqs, (std::vector<uint64_t>{0, 1, 2, 4, 5, 6}));
  EXPECT_EQ(hub.gaps, 1u);
  EXPECT_EQ(hub.refused, 0u);
  sender->flush_commits(6003);
  EXPECT_EQ(log.cursor("hub"), 7u);
  EXPECT_EQ(stats_of(*sender, "s").quarantined, 1u);
}

TEST_F(UplinkSenderTest, RecordsDroppedByRetentionAreCountedAsAGap) {
  auto& log = open_log("s");
  append_wait(log, records(0, 10));
  ASSERT_TRUE(log.roll());
  append_wait(log, records(10, 5));
  UplinkSendOptions o;
  o.linger_ms = 0;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);  // at cursor 0, before retention deletes the first segment
  ASSERT_TRUE(log.drop_before(10));
  ASSERT_EQ(log.stats().first_offset, 10u);
  sender->pump(1000);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].first, 10u);
  EXPECT_TRUE(transport_.sent[0].gap_before);  // the hub stores it past its next (0) as a gap
  EXPECT_EQ(stats_of(*sender, "s").dropped, 10u);
  sender->on_disconnected();  // read again after a reconnect: not counted twice
  sender->pump(2000);
  EXPECT_EQ(stats_of(*sender, "s").dropped, 10u);
}

TEST_F(UplinkSenderTest, RecordsAppendedWhileDrainingFollowTheBacklogInOrder) {
  auto& log = open_log("s");
  append_wait(log, records(0, 100));
  UplinkSendOptions o;
  o.batch_records = 16;
  o.window = 2;
  o.linger_ms = 0;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  sender->pump(1000);
  append_wait(log, records(100, 7));
  uint64_t now = 1000;
  for (int i = 0; i < 100; ++i) {
    uint64_t end = 0;
    for (const auto& s : transport_.sent) end = std::max(end, s.first + s.count);
    if (end >= 107) break;
    sender->on_ack("s", transport_.sent.back().first + transport_.sent.back().count, ++now);
  }
  std::vector<std::string> got;
  uint64_t expect_first = 0;
  for (const auto& s : transport_.sent) {
    EXPECT_EQ(s.first, expect_first);
    expect_first = s.first + s.count;
    got.insert(got.end(), s.payloads.begin(), s.payloads.end());
  }
  EXPECT_EQ(got, records(0, 107));
}

TEST_F(UplinkSenderTest, DrainRateAndEta) {
  auto& log = open_log("s");
  append_wait(log, records(0, 100));
  UplinkSendOptions o;
  o.batch_records = 10;
  o.window = 1;
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  uint64_t now = 10'000;
  sender->tick(now);
  for (int i = 0; i < 5; ++i) {  // 10 records acked every second
    now += 1000;
    sender->on_ack("s", transport_.sent.back().first + transport_.sent.back().count, now);
    sender->tick(now);
  }
  auto st = stats_of(*sender, "s");
  EXPECT_EQ(st.records_acked, 50u);
  EXPECT_NEAR(st.drain_rate, 10.0, 0.01);
  EXPECT_NEAR(st.eta_s, 5.0, 0.01);
}

}  // namespace
}  // namespace verge::sync

namespace verge::sync {
namespace {

// A large backlog drains completely, in order, with every batch full; the rate is printed for
// the record (timing is not asserted: sanitizer builds run these tests too).
TEST_F(UplinkSenderTest, DrainsALargeBacklogInOrder) {
  auto& log = open_log("s");
  constexpr int kRecords = 200'000;
  for (int i = 0; i < kRecords; i += 10'000) append_wait(log, records(i, 10'000, 60));
  UplinkSendOptions o;  // defaults: 2000 records, 256 KiB, window 8
  auto sender = make_sender(o);
  sender->add_stream("s", &log);
  const auto start = std::chrono::steady_clock::now();
  uint64_t now = 1000;
  sender->pump(now);
  uint64_t expect_first = 0;
  size_t acked_batches = 0;
  while (acked_batches < transport_.sent.size()) {
    const Sent& s = transport_.sent[acked_batches++];
    ASSERT_EQ(s.first, expect_first);
    ASSERT_EQ(s.payloads.front(), records(static_cast<int>(s.first), 1, 60).front());
    expect_first = s.first + s.count;
    sender->on_ack("s", expect_first, ++now);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(expect_first, static_cast<uint64_t>(kRecords));
  sender->flush_commits(now);
  EXPECT_EQ(log.cursor("hub"), static_cast<uint64_t>(kRecords));
  std::printf("drained %d records in %.3f s (%.0f records/s, fake transport decodes too)\n",
              kRecords, secs, kRecords / secs);
}

}  // namespace
}  // namespace verge::sync
