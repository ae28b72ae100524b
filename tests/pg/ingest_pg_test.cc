// The ingest store's shared scenarios against PostgreSQL. Needs VERGE_TEST_PG_URL (the ctest
// postgres_unit sets it to a throwaway server); without it every test skips.
#include <gtest/gtest.h>

#include <cstdlib>

#include "ingest_store_scenarios.h"
#include "store/postgres.h"
#include "sync/ingest_postgres.h"

namespace verge::sync {
namespace {

using namespace verge::sync::testing;

std::string pg_url() {
  const char* url = std::getenv("VERGE_TEST_PG_URL");
  return url != nullptr ? url : "";
}

// Each test starts from empty tables.
class PgBackend : public IngestBackend {
 public:
  PgBackend() {
    if (url_.empty()) return;
    auto pg = store::Postgres::connect(url_);
    EXPECT_TRUE(pg.has_value()) << (pg ? "" : pg.error().message);
    if (pg) {
      auto r =
          (*pg)->exec("DROP TABLE IF EXISTS uplink_records; DROP TABLE IF EXISTS uplink_cursors");
      EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    }
  }
  std::unique_ptr<IngestStore> open() override {
    IngestOptions o;
    o.storage = url_;
    auto s = IngestStore::open(o);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    return s ? std::move(*s) : nullptr;
  }
  bool ready() const override { return !url_.empty(); }
  std::string why_not() const override { return "VERGE_TEST_PG_URL not set"; }

 private:
  std::string url_ = pg_url();
};

VERGE_INGEST_SCENARIOS(IngestPg, PgBackend)

// Payloads are bytea: any bytes round-trip, NUL and invalid UTF-8 included.
TEST(IngestPg, BinaryPayloadsRoundTrip) {
  PgBackend b;
  if (!b.ready()) GTEST_FAIL() << b.why_not();
  auto s = b.open();
  DecodedBatch batch;
  batch.first_seq = 0;
  batch.body = std::string("a\0b\xff\xfe", 5) + std::string(100, 'z');
  batch.records.push_back({0, 1, std::string_view(batch.body).substr(0, 5)});
  batch.records.push_back({1, 2, std::string_view(batch.body).substr(5)});
  store_ok(*s, "n1", "raw", std::move(batch));
  const auto recs = query_all(*s, "n1", "raw");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].payload, std::string("a\0b\xff\xfe", 5));
  EXPECT_EQ(recs[1].payload, std::string(100, 'z'));
}

// The rows are where the format page says, one per record, with the cursor beside them.
TEST(IngestPg, RowsAndCursorInTheTables) {
  PgBackend b;
  if (!b.ready()) GTEST_FAIL() << b.why_not();
  auto s = b.open();
  store_ok(*s, "n1", "rules", make_batch(0, 2000));
  store_ok(*s, "n1", "rules", make_batch(1500, 1000));
  auto pg = store::Postgres::connect(pg_url());
  ASSERT_TRUE(pg.has_value());
  auto rows = (*pg)->query("SELECT count(*), min(seq), max(seq) FROM uplink_records");
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  EXPECT_EQ(rows->rows[0][0], "2500");
  EXPECT_EQ(rows->rows[0][1], "0");
  EXPECT_EQ(rows->rows[0][2], "2499");
  auto cur =
      (*pg)->query("SELECT next_seq FROM uplink_cursors WHERE node = 'n1' AND stream = 'rules'");
  ASSERT_TRUE(cur.has_value());
  ASSERT_EQ(cur->rows.size(), 1u);
  EXPECT_EQ(cur->rows[0][0], "2500");
}

TEST(IngestPg, UnreachableServerIsAnError) {
  IngestOptions o;
  o.storage = "postgres://postgres@127.0.0.1:1/verge?connect_timeout=2";
  auto s = IngestStore::open(o);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("postgres"), std::string::npos);
}

}  // namespace
}  // namespace verge::sync
