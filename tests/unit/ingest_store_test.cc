#include <gtest/gtest.h>

#include <filesystem>

#include "core/metrics.h"
#include "ingest_store_scenarios.h"
#include "segment_log_test_util.h"
#include "store/faulty_fs.h"
#include "sync/ingest_dedup_file.h"
#include "sync/ingest_embedded.h"
#include "sync/ingest_record.h"

namespace verge::sync {
namespace {

using store::testing::TempDir;
using namespace verge::sync::testing;

class EmbeddedBackend : public IngestBackend {
 public:
  explicit EmbeddedBackend(EmbeddedIngestKnobs knobs = {}) : knobs_(knobs) {}
  std::unique_ptr<IngestStore> open() override {
    IngestOptions o;
    o.data_dir = dir_.path();
    o.max_bytes = max_bytes;
    auto s = open_embedded_ingest(o, knobs_);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    return s ? std::move(*s) : nullptr;
  }
  const std::string& dir() const { return dir_.path(); }
  EmbeddedIngestKnobs knobs_;
  uint64_t max_bytes = 0;

 private:
  TempDir dir_;
};

VERGE_INGEST_SCENARIOS(IngestStoreEmbedded, EmbeddedBackend)

TEST(IngestStoreEmbedded, OpenThroughTheFactory) {
  TempDir dir;
  IngestOptions o;
  o.data_dir = dir.path();
  auto s = IngestStore::open(o);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  store_ok(**s, "n1", "rules", make_batch(0, 3));
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() + "/ingest"));
  o.storage = "mysql://x";
  auto bad = IngestStore::open(o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("unknown storage"), std::string::npos);
}

TEST(IngestStoreEmbedded, SliceRoundTrip) {
  const DecodedBatch b = make_batch(7, 4);
  std::string slice;
  ingest::encode_slice("node", "stream", 7, b.records, slice);
  auto h = ingest::decode_slice_header(slice);
  ASSERT_TRUE(h.has_value()) << h.error().message;
  EXPECT_EQ(h->node, "node");
  EXPECT_EQ(h->stream, "stream");
  EXPECT_EQ(h->first_seq, 7u);
  EXPECT_EQ(h->count, 4u);
  EXPECT_EQ(h->min_ts, ts_of(7));
  EXPECT_EQ(h->max_ts, ts_of(10));
  std::vector<uint64_t> seqs;
  auto r = ingest::for_each_record(slice, *h, [&](uint64_t seq, int64_t ts, std::string_view p) {
    EXPECT_EQ(ts, ts_of(seq));
    EXPECT_EQ(p, payload_of(seq));
    seqs.push_back(seq);
    return true;
  });
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(seqs, range(7, 11));
  // Cut short anywhere: an error, never a crash.
  for (size_t n = 0; n < slice.size(); ++n) {
    const std::string_view cut(slice.data(), n);
    auto hc = ingest::decode_slice_header(cut);
    if (hc) {
      EXPECT_FALSE(ingest::for_each_record(cut, *hc, [](auto, auto, auto) { return true; }));
    }
  }
}

TEST(IngestStoreEmbedded, DedupCheckpointRoundTripAndDamage) {
  ingest::DedupCheckpoint c;
  c.log_offset = 1234;
  c.next_seq[{"n1", "rules"}] = 99;
  c.next_seq[{"n 2", "a/b"}] = 1;
  const std::string bytes = ingest::encode_dedup(c);
  auto d = ingest::decode_dedup(bytes);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->log_offset, 1234u);
  EXPECT_EQ(d->next_seq, c.next_seq);
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 1;
  EXPECT_FALSE(ingest::decode_dedup(flipped).has_value());
  EXPECT_FALSE(ingest::decode_dedup(bytes.substr(0, bytes.size() - 1)).has_value());
}

// Power loss while the store is open: everything acknowledged ok is there after the restart, and
// a resend of it is a duplicate.
TEST(IngestStoreEmbedded, PowerLossKeepsEveryAcknowledgedRecord) {
  store::FaultyFilesystem fs(store::real_filesystem(), store::FaultOptions{});
  EmbeddedIngestKnobs knobs;
  knobs.fs = &fs;
  EmbeddedBackend b(knobs);
  auto s = b.open();
  uint64_t acked = 0;
  for (uint64_t first = 0; first < 200; first += 20) {
    acked = store_ok(*s, "n1", "rules", make_batch(first, 20)).next_seq;
  }
  ASSERT_EQ(acked, 200u);
  fs.crash();
  s.reset();  // its close fails (the disk is gone): that must not lose or invent anything
  fs.restart();
  s = b.open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->next_seq("n1", "rules"), 200u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), range(0, 200));
  const StoreOutcome again = store_ok(*s, "n1", "rules", make_batch(180, 40));
  EXPECT_EQ(again.duplicates, 20u);
  EXPECT_EQ(again.stored, 20u);
}

// A failed write is reported, leaves next_seq at what is stored, and the resend is stored.
TEST(IngestStoreEmbedded, FailedWriteIsReportedAndTheResendStored) {
  store::FaultyFilesystem fs(store::real_filesystem(), store::FaultOptions{});
  EmbeddedIngestKnobs knobs;
  knobs.fs = &fs;
  EmbeddedBackend b(knobs);
  auto s = b.open();
  store_ok(*s, "n1", "rules", make_batch(0, 10));
  store::FaultOptions eio;
  eio.write_eio = 1.0;
  fs.set_options(eio);
  auto failed = store_wait(*s, "n1", "rules", make_batch(10, 10));
  EXPECT_FALSE(failed.has_value());
  EXPECT_EQ(s->next_seq("n1", "rules"), 10u);
  EXPECT_GE(s->stats().errors, 1u);
  fs.set_options(store::FaultOptions{});
  const StoreOutcome resent = store_ok(*s, "n1", "rules", make_batch(10, 10));
  EXPECT_EQ(resent.stored, 10u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), range(0, 20));
}

// The lost-batch case end to end: [10, 20) fails to store (EIO), the next batch [20, 30) comes
// without "gap before" and is refused (ack stays at 10, nothing stored after the hole), and the
// node's resend from 10 stores both; nothing counts as a gap.
TEST(IngestStoreEmbedded, FailedWriteThenBatchAheadIsRefusedUntilTheResend) {
  store::FaultyFilesystem fs(store::real_filesystem(), store::FaultOptions{});
  EmbeddedIngestKnobs knobs;
  knobs.fs = &fs;
  EmbeddedBackend b(knobs);
  auto s = b.open();
  store_ok(*s, "n1", "rules", make_batch(0, 10));
  store::FaultOptions eio;
  eio.write_eio = 1.0;
  fs.set_options(eio);
  EXPECT_FALSE(store_wait(*s, "n1", "rules", make_batch(10, 10)).has_value());
  fs.set_options(store::FaultOptions{});
  const StoreOutcome ahead = store_ok(*s, "n1", "rules", make_batch(20, 10));
  EXPECT_TRUE(ahead.refused_ahead);
  EXPECT_EQ(ahead.next_seq, 10u);
  EXPECT_EQ(ahead.stored, 0u);
  EXPECT_EQ(s->next_seq("n1", "rules"), 10u);
  const StoreOutcome resent = store_ok(*s, "n1", "rules", make_batch(10, 20));
  EXPECT_EQ(resent.stored, 20u);
  EXPECT_EQ(resent.next_seq, 30u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), range(0, 30));
  EXPECT_EQ(s->stats().gaps, 0u);
  EXPECT_EQ(s->stats().refused_ahead, 1u);
  // Survives a reopen: the refused batch left nothing in the log.
  s.reset();
  s = b.open();
  EXPECT_EQ(s->next_seq("n1", "rules"), 30u);
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "rules")), range(0, 30));
}

// Past max_index_entries, neighbouring index entries merge; queries still find every record.
TEST(IngestStoreEmbedded, MergedIndexStillFindsRecords) {
  EmbeddedIngestKnobs knobs;
  knobs.max_index_entries = 4;
  EmbeddedBackend b(knobs);
  auto s = b.open();
  for (uint64_t first = 0; first < 300; first += 10) {
    store_ok(*s, "n1", "a", make_batch(first, 10));
    store_ok(*s, "n1", "b", make_batch(first, 10));
  }
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "a")), range(0, 300));
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "b", 155, 20)), range(155, 175));
  s.reset();
  s = b.open();  // rebuilt by the scan, merged again
  EXPECT_EQ(seqs_of(query_all(*s, "n1", "a", 291)), range(291, 300));
}

// Retention deleted every record of a stream: its next_seq comes from the dedup checkpoint.
TEST(IngestStoreEmbedded, NextSeqOutlivesRetention) {
  EmbeddedIngestKnobs knobs;
  knobs.segment_bytes = 16 << 10;
  EmbeddedBackend b(knobs);
  b.max_bytes = 64 << 10;
  auto s = b.open();
  store_ok(*s, "old", "rules", make_batch(0, 10));
  for (uint64_t first = 0; first < 4000; first += 100)
    store_ok(*s, "busy", "raw", make_batch(first, 100));
  s->flush();
  EXPECT_TRUE(query_all(*s, "old", "rules").empty());  // its slice was deleted
  s.reset();
  s = b.open();
  EXPECT_EQ(s->next_seq("old", "rules"), 10u);
  EXPECT_EQ(store_ok(*s, "old", "rules", make_batch(0, 10)).duplicates, 10u);
  EXPECT_EQ(s->next_seq("busy", "raw"), 4000u);
}

TEST(IngestStoreEmbedded, MetricsAreExposed) {
  EmbeddedBackend b;
  auto s = b.open();
  metrics::Registry reg;
  s->register_metrics(reg);
  store_ok(*s, "n1", "rules", make_batch(0, 10));
  store_ok(*s, "n1", "rules", make_batch(5, 10));
  const std::string text = reg.render();
  EXPECT_NE(text.find("verge_hub_ingest_records_total 15"), std::string::npos) << text;
  EXPECT_NE(text.find("verge_hub_ingest_duplicates_total 5"), std::string::npos);
  EXPECT_NE(text.find("verge_hub_ingest_batches_total 2"), std::string::npos);
  EXPECT_NE(text.find("verge_hub_ingest_refused_ahead_total 0"), std::string::npos);
  store_ok(*s, "n1", "rules", make_batch(20, 10));  // [15, 20) missing, no "gap before"
  EXPECT_NE(reg.render().find("verge_hub_ingest_refused_ahead_total 1"), std::string::npos);
  s.reset();
  EXPECT_NE(reg.render().find("verge_hub_ingest_records_total 15"), std::string::npos);
}

}  // namespace
}  // namespace verge::sync
