// Behaviour every IngestStore backend must show (embedded: tests/unit/ingest_store_test.cc,
// PostgreSQL: tests/pg/ingest_pg_test.cc). A backend is anything that opens the same storage
// again; VERGE_INGEST_SCENARIOS(Suite, Backend) instantiates every scenario for it.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sync/ingest_store.h"

namespace verge::sync::testing {

class IngestBackend {
 public:
  virtual ~IngestBackend() = default;
  // Opens the backend's storage (again, after the previous store was destroyed).
  virtual std::unique_ptr<IngestStore> open() = 0;
  // False when the backend cannot run here (no PostgreSQL server): the scenario is skipped.
  virtual bool ready() const { return true; }
  virtual std::string why_not() const { return {}; }
};

// Payload text of record `seq` (tells a record's source batch apart with `tag`).
inline std::string payload_of(uint64_t seq, std::string_view tag = "a") {
  return "{\"seq\":" + std::to_string(seq) + ",\"tag\":\"" + std::string(tag) + "\",\"pad\":\"" +
         std::string(40, 'x') + "\"}";
}

inline int64_t ts_of(uint64_t seq) { return 1'700'000'000'000 + static_cast<int64_t>(seq) * 10; }

// A decoded batch of records [first, first + count), as batch.cc would produce it.
inline DecodedBatch make_batch(uint64_t first, uint64_t count, std::string_view tag = "a") {
  DecodedBatch b;
  b.first_seq = first;
  std::vector<size_t> ends;
  for (uint64_t i = 0; i < count; ++i) {
    b.body += payload_of(first + i, tag);
    ends.push_back(b.body.size());
  }
  size_t start = 0;
  for (uint64_t i = 0; i < count; ++i) {
    b.records.push_back(DecodedRecord{first + i, ts_of(first + i),
                                      std::string_view(b.body).substr(start, ends[i] - start)});
    start = ends[i];
  }
  b.wire_bytes = b.body.size();
  return b;
}

// The same with "gap before": the node declares the records below `first` it did not send gone.
inline DecodedBatch make_gap_batch(uint64_t first, uint64_t count, std::string_view tag = "a") {
  DecodedBatch b = make_batch(first, count, tag);
  b.gap_before = true;
  return b;
}

inline Result<StoreOutcome> store_wait(IngestStore& s, std::string_view node,
                                       std::string_view stream, DecodedBatch batch) {
  std::promise<Result<StoreOutcome>> p;
  auto f = p.get_future();
  s.store(node, stream, std::move(batch), [&p](Result<StoreOutcome> r) { p.set_value(r); });
  return f.get();
}

inline StoreOutcome store_ok(IngestStore& s, std::string_view node, std::string_view stream,
                             DecodedBatch batch) {
  auto r = store_wait(s, node, stream, std::move(batch));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : StoreOutcome{};
}

inline std::vector<StoredRecord> query_all(const IngestStore& s, std::string_view node,
                                           std::string_view stream, uint64_t from_seq = 0,
                                           size_t limit = 1'000'000) {
  RecordQuery q;
  q.node = node;
  q.stream = stream;
  q.from_seq = from_seq;
  q.limit = limit;
  auto r = s.query(q);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : std::vector<StoredRecord>{};
}

// The seqs of `records`, to compare with an expected list in one assertion.
inline std::vector<uint64_t> seqs_of(const std::vector<StoredRecord>& records) {
  std::vector<uint64_t> out;
  for (const auto& r : records) out.push_back(r.seq);
  return out;
}

inline std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

inline void scenario_in_order_batches_stored(IngestBackend& b) {
  auto s = b.open();
  for (uint64_t first = 0; first < 30; first += 10) {
    const StoreOutcome o = store_ok(*s, "n1", "rules", make_batch(first, 10));
    EXPECT_EQ(o.stored, 10u);
    EXPECT_EQ(o.duplicates, 0u);
    EXPECT_EQ(o.gap, 0u);
    EXPECT_EQ(o.next_seq, first + 10);
  }
  EXPECT_EQ(s->next_seq("n1", "rules"), 30u);
  EXPECT_EQ(s->next_seq("n1", "other"), 0u);
  const auto recs = query_all(*s, "n1", "rules");
  EXPECT_EQ(seqs_of(recs), range(0, 30));
  ASSERT_EQ(recs.size(), 30u);
  EXPECT_EQ(recs[17].payload, payload_of(17));
  EXPECT_EQ(recs[17].ts_ms, ts_of(17));
  EXPECT_EQ(recs[17].node, "n1");
  EXPECT_EQ(recs[17].stream, "rules");
  const IngestStats st = s->stats();
  EXPECT_EQ(st.batches, 3u);
  EXPECT_EQ(st.records, 30u);
  EXPECT_EQ(st.duplicates, 0u);
  EXPECT_GT(st.bytes_stored, 30u * payload_of(0).size());
}

inline void scenario_resent_batch_stored_once(IngestBackend& b) {
  auto s = b.open();
  store_ok(*s, "n1", "alarms", make_batch(0, 10, "first"));
  const StoreOutcome again = store_ok(*s, "n1", "alarms", make_batch(0, 10, "resent"));
  EXPECT_EQ(again.stored, 0u);
  EXPECT_EQ(again.duplicates, 10u);
  EXPECT_EQ(again.next_seq, 10u);
  EXPECT_EQ(s->stats().duplicates, 10u);
  const auto recs = query_all(*s, "n1", "alarms");
  EXPECT_EQ(seqs_of(recs), range(0, 10));
  for (const auto& r : recs) EXPECT_EQ(r.payload, payload_of(r.seq, "first"));
}

inline void scenario_overlap_stores_only_the_tail(IngestBackend& b) {
  auto s = b.open();
  store_ok(*s, "n1", "raw", make_batch(0, 10, "first"));
  const StoreOutcome o = store_ok(*s, "n1", "raw", make_batch(5, 10, "second"));
  EXPECT_EQ(o.stored, 5u);
  EXPECT_EQ(o.duplicates, 5u);
  EXPECT_EQ(o.next_seq, 15u);
  const auto recs = query_all(*s, "n1", "raw");
  EXPECT_EQ(seqs_of(recs), range(0, 15));
  for (const auto& r : recs)
    EXPECT_EQ(r.payload, payload_of(r.seq, r.seq < 10 ? "first" : "second"));
}

inline void scenario_gap_is_counted(IngestBackend& b) {
  auto s = b.open();
  store_ok(*s, "n1", "raw", make_batch(0, 10));
  const StoreOutcome o = store_ok(*s, "n1", "raw", make_gap_batch(15, 5));
  EXPECT_FALSE(o.refused_ahead);
  EXPECT_EQ(o.gap, 5u);
  EXPECT_EQ(o.stored, 5u);
  EXPECT_EQ(o.next_seq, 20u);
  EXPECT_EQ(s->stats().gaps, 5u);
  auto want = range(0, 10);
  for (uint64_t i = 15; i < 20; ++i) want.push_back(i);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "raw")), want);
  // Records inside the gap that arrive late are below next_seq: duplicates, not stored.
  const StoreOutcome late = store_ok(*s, "n1", "raw", make_batch(10, 5));
  EXPECT_EQ(late.stored, 0u);
  EXPECT_EQ(late.next_seq, 20u);
  // An empty batch with the flag announces a gap on its own.
  const StoreOutcome empty = store_ok(*s, "n1", "raw", make_gap_batch(25, 0));
  EXPECT_EQ(empty.gap, 5u);
  EXPECT_EQ(empty.stored, 0u);
  EXPECT_EQ(empty.next_seq, 25u);
  EXPECT_EQ(s->next_seq("n1", "raw"), 25u);
  EXPECT_EQ(s->stats().gaps, 10u);
  EXPECT_EQ(s->stats().refused_ahead, 0u);
}

// Exactly once across a lost batch: [10, 20) never arrives (it failed to store, or to decode),
// so [20, 30) without "gap before" is refused: nothing stored, the ack stays at 10, and the
// node's resend from 10 stores everything. With the flag, the same batch is a declared gap.
inline void scenario_batch_ahead_without_gap_flag_is_refused(IngestBackend& b) {
  auto s = b.open();
  store_ok(*s, "n1", "rules", make_batch(0, 10));
  const StoreOutcome ahead = store_ok(*s, "n1", "rules", make_batch(20, 10, "early"));
  EXPECT_TRUE(ahead.refused_ahead);
  EXPECT_EQ(ahead.next_seq, 10u);
  EXPECT_EQ(ahead.stored, 0u);
  EXPECT_EQ(ahead.gap, 0u);
  EXPECT_EQ(ahead.duplicates, 0u);
  EXPECT_EQ(s->next_seq("n1", "rules"), 10u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), range(0, 10));
  // An empty batch above next_seq without the flag moves nothing either.
  const StoreOutcome empty = store_ok(*s, "n1", "rules", make_batch(30, 0));
  EXPECT_TRUE(empty.refused_ahead);
  EXPECT_EQ(empty.next_seq, 10u);
  EXPECT_EQ(s->next_seq("n1", "rules"), 10u);

  const StoreOutcome resent = store_ok(*s, "n1", "rules", make_batch(10, 20, "resent"));
  EXPECT_FALSE(resent.refused_ahead);
  EXPECT_EQ(resent.stored, 20u);
  EXPECT_EQ(resent.gap, 0u);
  EXPECT_EQ(resent.next_seq, 30u);
  const auto recs = query_all(*s, "n1", "rules");
  EXPECT_EQ(seqs_of(recs), range(0, 30));
  for (const auto& r : recs) EXPECT_EQ(r.payload, payload_of(r.seq, r.seq < 10 ? "a" : "resent"));
  IngestStats st = s->stats();
  EXPECT_EQ(st.refused_ahead, 2u);
  EXPECT_EQ(st.gaps, 0u);
  EXPECT_EQ(st.records, 30u);

  // The same hole declared by the node (records 30..39 dropped by its retention): stored.
  const StoreOutcome gap = store_ok(*s, "n1", "rules", make_gap_batch(40, 10));
  EXPECT_FALSE(gap.refused_ahead);
  EXPECT_EQ(gap.gap, 10u);
  EXPECT_EQ(gap.stored, 10u);
  EXPECT_EQ(gap.next_seq, 50u);
  auto want = range(0, 30);
  for (uint64_t i = 40; i < 50; ++i) want.push_back(i);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), want);
  st = s->stats();
  EXPECT_EQ(st.gaps, 10u);
  EXPECT_EQ(st.refused_ahead, 2u);
  // The flag on a batch at next_seq changes nothing.
  const StoreOutcome flagged = store_ok(*s, "n1", "rules", make_gap_batch(50, 5));
  EXPECT_EQ(flagged.gap, 0u);
  EXPECT_EQ(flagged.stored, 5u);
  EXPECT_EQ(flagged.next_seq, 55u);
}

// Batches queued back to back after one that is refused for being ahead: each is judged against
// what is stored, so the later ones are refused as well, and nothing lands after the hole.
inline void scenario_pipelined_batches_after_a_hole_are_refused(IngestBackend& b) {
  auto s = b.open();
  store_ok(*s, "n1", "raw", make_batch(0, 10));
  std::vector<std::promise<Result<StoreOutcome>>> ps(3);
  const uint64_t firsts[] = {20, 30, 40};  // [10, 20) was lost
  for (size_t i = 0; i < 3; ++i) {
    s->store("n1", "raw", make_batch(firsts[i], 10),
             [&ps, i](Result<StoreOutcome> r) { ps[i].set_value(r); });
  }
  for (auto& p : ps) {
    auto r = p.get_future().get();
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(r->refused_ahead);
    EXPECT_EQ(r->next_seq, 10u);
    EXPECT_EQ(r->stored, 0u);
  }
  EXPECT_EQ(s->next_seq("n1", "raw"), 10u);
  EXPECT_EQ(s->stats().refused_ahead, 3u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "raw")), range(0, 10));
  for (uint64_t first = 10; first < 50; first += 10)
    store_ok(*s, "n1", "raw", make_batch(first, 10));
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "raw")), range(0, 50));
  EXPECT_EQ(s->stats().gaps, 0u);
}

// 4 nodes x 3 streams, each stream's batches from its own thread, all at once.
inline void scenario_many_streams_interleaved(IngestBackend& b) {
  auto s = b.open();
  const std::vector<std::string> nodes{"n1", "n2", "n3", "n4"}, streams{"rules", "alarms", "raw"};
  std::vector<std::thread> threads;
  for (const auto& n : nodes) {
    for (const auto& st : streams) {
      threads.emplace_back([&s, n, st] {
        for (uint64_t first = 0; first < 100; first += 20) {
          auto r = store_wait(*s, n, st, make_batch(first, 20, n + st));
          EXPECT_TRUE(r.has_value());
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  for (const auto& n : nodes) {
    auto listed = s->streams(n);
    std::set<std::pair<std::string, uint64_t>> got(listed.begin(), listed.end());
    EXPECT_EQ(got, (std::set<std::pair<std::string, uint64_t>>{
                       {"alarms", 100}, {"raw", 100}, {"rules", 100}}));
    for (const auto& st : streams) {
      const auto recs = query_all(*s, n, st);
      EXPECT_EQ(seqs_of(recs), range(0, 100)) << n << "/" << st;
      for (const auto& r : recs) EXPECT_EQ(r.payload, payload_of(r.seq, n + st));
    }
  }
  EXPECT_TRUE(s->streams("n9").empty());
  EXPECT_EQ(s->stats().records, 1200u);
}

// Batches queued back to back for one stream (no waiting between them) keep their order and
// are judged against each other: the repeat in the middle stores nothing.
inline void scenario_pipelined_batches_keep_order(IngestBackend& b) {
  auto s = b.open();
  std::vector<std::promise<Result<StoreOutcome>>> ps(5);
  const uint64_t firsts[] = {0, 10, 10, 20, 25};
  for (size_t i = 0; i < 5; ++i) {
    s->store("n1", "rules", make_batch(firsts[i], 10),
             [&ps, i](Result<StoreOutcome> r) { ps[i].set_value(r); });
  }
  std::vector<StoreOutcome> outs;
  for (auto& p : ps) {
    auto r = p.get_future().get();
    ASSERT_TRUE(r.has_value()) << r.error().message;
    outs.push_back(*r);
  }
  EXPECT_EQ(outs[2].stored, 0u);
  EXPECT_EQ(outs[2].duplicates, 10u);
  EXPECT_EQ(outs[4].stored, 5u);
  EXPECT_EQ(outs[4].next_seq, 35u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), range(0, 35));
}

inline void scenario_reopen_keeps_next_seq_and_data(IngestBackend& b) {
  {
    auto s = b.open();
    store_ok(*s, "n1", "rules", make_batch(0, 50));
    store_ok(*s, "n2", "alarms", make_batch(0, 7));
    s->flush();
  }
  auto s = b.open();
  EXPECT_EQ(s->next_seq("n1", "rules"), 50u);
  EXPECT_EQ(s->next_seq("n2", "alarms"), 7u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), range(0, 50));
  const StoreOutcome again = store_ok(*s, "n1", "rules", make_batch(40, 20));
  EXPECT_EQ(again.duplicates, 10u);
  EXPECT_EQ(again.stored, 10u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), range(0, 60));
}

inline void scenario_query_by_seq_time_and_limit(IngestBackend& b) {
  auto s = b.open();
  for (uint64_t first = 0; first < 100; first += 10)
    store_ok(*s, "n1", "raw", make_batch(first, 10));
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "raw", 37)), range(37, 100));
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "raw", 37, 5)), range(37, 42));
  EXPECT_TRUE(query_all(*s, "n1", "raw", 100).empty());
  EXPECT_TRUE(query_all(*s, "n1", "nothing").empty());
  RecordQuery q;
  q.node = "n1";
  q.stream = "raw";
  q.from_ms = ts_of(55);
  q.to_ms = ts_of(64);
  auto r = s->query(q);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(seqs_of(*r), range(55, 65));
  q.limit = 3;
  r = s->query(q);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(seqs_of(*r), range(55, 58));
}

inline void scenario_bad_names_are_errors(IngestBackend& b) {
  auto s = b.open();
  auto r = store_wait(*s, "", "rules", make_batch(0, 3));
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(s->stats().errors, 1u);
  EXPECT_EQ(s->stats().records, 0u);
}

}  // namespace verge::sync::testing

// Instantiates every shared scenario as a test of `Suite`, on a fresh `Backend` each.
#define VERGE_INGEST_SCENARIO(Suite, Backend, Name, fn)      \
  TEST(Suite, Name) {                                        \
    Backend backend;                                         \
    if (!backend.ready()) GTEST_FAIL() << backend.why_not(); \
    ::verge::sync::testing::fn(backend);                     \
  }
#define VERGE_INGEST_SCENARIOS(Suite, Backend)                                                     \
  VERGE_INGEST_SCENARIO(Suite, Backend, InOrderBatchesStored, scenario_in_order_batches_stored)    \
  VERGE_INGEST_SCENARIO(Suite, Backend, ResentBatchStoredOnce, scenario_resent_batch_stored_once)  \
  VERGE_INGEST_SCENARIO(Suite, Backend, OverlapStoresOnlyTheTail,                                  \
                        scenario_overlap_stores_only_the_tail)                                     \
  VERGE_INGEST_SCENARIO(Suite, Backend, GapIsCounted, scenario_gap_is_counted)                     \
  VERGE_INGEST_SCENARIO(Suite, Backend, BatchAheadWithoutGapFlagIsRefused,                         \
                        scenario_batch_ahead_without_gap_flag_is_refused)                          \
  VERGE_INGEST_SCENARIO(Suite, Backend, PipelinedBatchesAfterAHoleAreRefused,                      \
                        scenario_pipelined_batches_after_a_hole_are_refused)                       \
  VERGE_INGEST_SCENARIO(Suite, Backend, ManyStreamsInterleaved, scenario_many_streams_interleaved) \
  VERGE_INGEST_SCENARIO(Suite, Backend, PipelinedBatchesKeepOrder,                                 \
                        scenario_pipelined_batches_keep_order)                                     \
  VERGE_INGEST_SCENARIO(Suite, Backend, ReopenKeepsNextSeqAndData,                                 \
                        scenario_reopen_keeps_next_seq_and_data)                                   \
  VERGE_INGEST_SCENARIO(Suite, Backend, QueryBySeqTimeAndLimit,                                    \
                        scenario_query_by_seq_time_and_limit)                                      \
  VERGE_INGEST_SCENARIO(Suite, Backend, BadNamesAreErrors, scenario_bad_names_are_errors)
