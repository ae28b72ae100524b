#include "store/metadata.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/migrations.h"

namespace verge::store {
namespace {

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/verge_metadata_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string db_path() const { return dir_ + "/meta.db"; }

  std::string dir_;
};

TEST_F(MetadataTest, CreatesSchemaFromZeroAndReopensIdempotently) {
  const auto latest = static_cast<int64_t>(metadata_migrations().size());
  {
    auto store = MetadataStore::open(dir_);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ((*store)->schema_version(), latest);
    EXPECT_EQ((*store)->path(), db_path());
    EXPECT_EQ(*(*store)->db().query_int("PRAGMA user_version"), latest);
    EXPECT_EQ(*(*store)->db().query_int(
                  "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('kv', 'config_versions')"),
              2);
    ASSERT_TRUE((*store)->kv_put("node", "name", "edge-1"));
  }
  // Re-open: nothing to migrate, data kept.
  auto again = MetadataStore::open(dir_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->schema_version(), latest);
  EXPECT_EQ(*(*again)->kv_get("node", "name"), std::optional<std::string>("edge-1"));
}

TEST_F(MetadataTest, KeyValueByNamespace) {
  auto store = MetadataStore::open(dir_);
  ASSERT_TRUE(store) << store.error().message;
  auto& s = **store;
  EXPECT_EQ(*s.kv_get("a", "x"), std::nullopt);
  ASSERT_TRUE(s.kv_put("a", "y", "2"));
  ASSERT_TRUE(s.kv_put("a", "x", "1"));
  ASSERT_TRUE(s.kv_put("b", "x", std::string_view("\0bin", 4)));
  ASSERT_TRUE(s.kv_put("a", "x", "one"));  // overwrite
  EXPECT_EQ(*s.kv_get("a", "x"), std::optional<std::string>("one"));
  EXPECT_EQ(*s.kv_get("b", "x"), std::optional<std::string>(std::string("\0bin", 4)));
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*s.kv_list("a"), (Pairs{{"x", "one"}, {"y", "2"}}));
  EXPECT_EQ(*s.kv_list("c"), Pairs{});
  EXPECT_TRUE(*s.kv_delete("a", "x"));
  EXPECT_FALSE(*s.kv_delete("a", "x"));
  EXPECT_EQ(*s.kv_list("a"), (Pairs{{"y", "2"}}));
  EXPECT_GT(*s.db().query_int("SELECT MIN(updated_at) FROM kv"), 1'700'000'000'000);
}

TEST_F(MetadataTest, ConfigVersionsAreNumberedInOrder) {
  auto store = MetadataStore::open(dir_);
  ASSERT_TRUE(store);
  EXPECT_EQ(*(*store)->latest_config_version(), std::nullopt);
  EXPECT_EQ(*(*store)->add_config_version("threads: 1\n"), 1);
  EXPECT_EQ(*(*store)->add_config_version("threads: 2\n"), 2);
  auto latest = (*store)->latest_config_version();
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ((*latest)->version, 2);
  EXPECT_EQ((*latest)->document, "threads: 2\n");
  EXPECT_GT((*latest)->applied_at_ms, 0);
}

TEST_F(MetadataTest, NewerSchemaStopsStartUp) {
  {
    auto db = Database::open(db_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("PRAGMA user_version=7"));
  }
  auto store = MetadataStore::open(dir_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message, db_path() + " has schema version 7, this verge knows up to " +
                                       std::to_string(metadata_migrations().size()) +
                                       ": upgrade verge or restore a backup");
}

TEST_F(MetadataTest, GarbageFileStopsStartUpNamingTheFile) {
  std::ofstream(db_path()) << std::string(8192, 'x');
  auto store = MetadataStore::open(dir_);
  ASSERT_FALSE(store);
  const std::string& msg = store.error().message;
  EXPECT_EQ(msg.rfind(db_path() + " is corrupt", 0), 0u) << msg;
  EXPECT_NE(msg.find("file is not a database"), std::string::npos) << msg;
  EXPECT_NE(msg.find("restore a backup"), std::string::npos) << msg;
}

TEST_F(MetadataTest, TruncatedDatabaseStopsStartUp) {
  {
    auto store = MetadataStore::open(dir_);
    ASSERT_TRUE(store);
    // Enough rows for several pages, so a cut loses pages the schema points at.
    auto tx = Transaction::begin((*store)->db());
    ASSERT_TRUE(tx);
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE((*store)->kv_put("bulk", "key-" + std::to_string(i), std::string(100, 'v')));
    }
    ASSERT_TRUE(tx->commit());
  }  // closing checkpoints the WAL into meta.db and removes it
  ASSERT_FALSE(std::filesystem::exists(db_path() + "-wal"));
  const auto size = std::filesystem::file_size(db_path());
  ASSERT_GT(size, 8 * 4096u);
  std::filesystem::resize_file(db_path(), size / 2);
  auto store = MetadataStore::open(dir_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message.rfind(db_path() + " is corrupt", 0), 0u) << store.error().message;
}

TEST_F(MetadataTest, FailedMigrationLeavesThePreviousVersion) {
  auto db = Database::open(db_path());
  ASSERT_TRUE(db);
  const std::array<std::string_view, 2> good = {"CREATE TABLE a (x);", "CREATE TABLE b (x);"};
  auto r1 = migrate(**db, std::span(good).first(1));
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(r1->from_version, 0);
  EXPECT_EQ(r1->to_version, 1);
  // Migration 2 creates a table, then fails: neither the table nor the version bump remain.
  const std::array<std::string_view, 2> bad = {"CREATE TABLE a (x);",
                                               "CREATE TABLE c (x); CREATE TABLE a (x);"};
  auto r2 = migrate(**db, bad);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("migration 2 of " + db_path()), std::string::npos)
      << r2.error().message;
  EXPECT_NE(r2.error().message.find("table a already exists"), std::string::npos);
  EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), 1);
  EXPECT_EQ(*(*db)->query_int("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'c'"), 0);
  EXPECT_FALSE((*db)->in_transaction());
  // The fixed list migrates 1 -> 2; migrating again is a no-op.
  auto r3 = migrate(**db, good);
  ASSERT_TRUE(r3) << r3.error().message;
  EXPECT_EQ(r3->to_version, 2);
  auto r4 = migrate(**db, good);
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->from_version, 2);
  EXPECT_EQ(r4->to_version, 2);
}

}  // namespace
}  // namespace verge::store
