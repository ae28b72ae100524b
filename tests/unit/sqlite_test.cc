#include "store/sqlite.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace verge::store {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/verge_sqlite_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = Database::open(path());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string path() const { return dir_ + "/t.db"; }

  std::string dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(SqliteTest, OpensInWalModeWithForeignKeys) {
  auto st = db_->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(st);
  ASSERT_TRUE(*st->step());
  EXPECT_EQ(st->column_text(0), "wal");
  EXPECT_EQ(*db_->query_int("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(*db_->query_int("PRAGMA synchronous"), 2);  // FULL is the default
  EXPECT_EQ(*db_->query_int("PRAGMA busy_timeout"), 5000);

  DatabaseOptions normal;
  normal.synchronous = Synchronous::Normal;
  normal.busy_timeout = std::chrono::milliseconds(250);
  auto other = Database::open(path(), normal);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(*(*other)->query_int("PRAGMA synchronous"), 1);
  EXPECT_EQ(*(*other)->query_int("PRAGMA busy_timeout"), 250);
}

TEST_F(SqliteTest, BindsAndReadsEveryType) {
  ASSERT_TRUE(db_->exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n TEXT)"));
  {
    auto ins = db_->prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)");
    ASSERT_TRUE(ins) << ins.error().message;
    ASSERT_TRUE(ins->bind_int(1, int64_t{1} << 40));
    ASSERT_TRUE(ins->bind_double(2, 2.5));
    ASSERT_TRUE(ins->bind_text(3, "h\xc3\xa9llo"));
    ASSERT_TRUE(ins->bind_blob(4, std::string_view("a\0b", 3)));
    ASSERT_TRUE(ins->bind_null(5));
    ASSERT_TRUE(ins->run());
    EXPECT_EQ(db_->changes(), 1);
    EXPECT_EQ(db_->last_insert_rowid(), 1);
    // Bindings survive reset(): the same row again.
    ins->reset();
    ASSERT_TRUE(ins->run());
  }
  auto sel = db_->prepare("SELECT i, d, s, b, n FROM t");
  ASSERT_TRUE(sel);
  for (int row = 0; row < 2; ++row) {
    auto r = sel->step();
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(*r);
    EXPECT_EQ(sel->column_count(), 5);
    EXPECT_EQ(sel->column_int(0), int64_t{1} << 40);
    EXPECT_EQ(sel->column_double(1), 2.5);
    EXPECT_EQ(sel->column_text(2), "h\xc3\xa9llo");
    EXPECT_EQ(sel->column_blob(3), std::string_view("a\0b", 3));
    EXPECT_TRUE(sel->column_is_null(4));
    EXPECT_FALSE(sel->column_is_null(0));
  }
  EXPECT_FALSE(*sel->step());
}

TEST_F(SqliteTest, EmptyBlobStaysAnEmptyBlobNotNull) {
  ASSERT_TRUE(db_->exec("CREATE TABLE t (b BLOB)"));
  auto ins = db_->prepare("INSERT INTO t VALUES (?1)");
  ASSERT_TRUE(ins->bind_blob(1, ""));
  ASSERT_TRUE(ins->run());
  EXPECT_EQ(*db_->query_int("SELECT COUNT(*) FROM t WHERE b IS NOT NULL AND length(b) = 0"), 1);
}

TEST_F(SqliteTest, StatementsAreCachedBySqlText) {
  ASSERT_TRUE(db_->exec("CREATE TABLE t (x INTEGER)"));
  const char* sql = "INSERT INTO t VALUES (?1)";
  {
    auto a = db_->prepare(sql);
    ASSERT_TRUE(a->bind_int(1, 1));
    ASSERT_TRUE(a->run());
  }
  {
    // From the cache, with its bindings cleared when it was given back.
    auto b = db_->prepare(sql);
    ASSERT_TRUE(b->run());
  }
  EXPECT_EQ(*db_->query_int("SELECT COUNT(*) FROM t WHERE x IS NULL"), 1);
  // The same text in use twice at once: nested queries get separate statements.
  auto outer = db_->prepare("SELECT x FROM t ORDER BY x");
  ASSERT_TRUE(*outer->step());
  auto inner = db_->prepare("SELECT x FROM t ORDER BY x");
  ASSERT_TRUE(*inner->step());
  ASSERT_TRUE(*outer->step());
  EXPECT_EQ(outer->column_int(0), 1);
  EXPECT_TRUE(inner->column_is_null(0));
}

TEST_F(SqliteTest, ErrorsCarrySqliteMessageAndSql) {
  auto bad = db_->prepare("SELEC 1");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("syntax error"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("SELEC 1"), std::string::npos) << bad.error().message;

  ASSERT_TRUE(db_->exec("CREATE TABLE u (k TEXT PRIMARY KEY)"));
  auto ins = db_->prepare("INSERT INTO u VALUES ('a')");
  ASSERT_TRUE(ins->run());
  auto dup = ins->run();
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("UNIQUE constraint failed: u.k"), std::string::npos)
      << dup.error().message;
  EXPECT_NE(dup.error().message.find("INSERT INTO u"), std::string::npos);

  auto script = db_->exec("CREATE TABLE v (x); CREATE TABLE v (x)");
  ASSERT_FALSE(script);
  EXPECT_NE(script.error().message.find("table v already exists"), std::string::npos)
      << script.error().message;

  auto bind = ins->bind_int(5, 1);
  ASSERT_FALSE(bind);
  EXPECT_NE(bind.error().message.find("bind #5"), std::string::npos) << bind.error().message;
}

TEST_F(SqliteTest, TransactionRollsBackWhenNotCommitted) {
  ASSERT_TRUE(db_->exec("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  auto insert = [&](const char* k) -> Result<void> {
    auto st = db_->prepare("INSERT INTO t VALUES (?1)");
    if (!st) return unexpected(st.error());
    if (auto r = st->bind_text(1, k); !r) return r;
    return st->run();
  };
  // A function that fails half-way returns its error; the transaction's destructor undoes it.
  auto work = [&]() -> Result<void> {
    auto tx = Transaction::begin(*db_);
    if (!tx) return unexpected(tx.error());
    if (auto r = insert("a"); !r) return r;
    if (auto r = insert("a"); !r) return r;  // duplicate: fails
    return tx->commit();
  };
  EXPECT_FALSE(work());
  EXPECT_FALSE(db_->in_transaction());
  EXPECT_EQ(*db_->query_int("SELECT COUNT(*) FROM t"), 0);

  {
    auto tx = Transaction::begin(*db_);
    ASSERT_TRUE(tx);
    EXPECT_TRUE(db_->in_transaction());
    ASSERT_TRUE(insert("b"));
    ASSERT_TRUE(tx->commit());
    EXPECT_FALSE(tx->commit());  // only once
  }
  {
    auto tx = Transaction::begin(*db_);
    ASSERT_TRUE(insert("c"));
    ASSERT_TRUE(tx->rollback());
  }
  EXPECT_EQ(*db_->query_int("SELECT COUNT(*) FROM t"), 1);
}

TEST_F(SqliteTest, SecondWriterWaitsThenGetsBusyNotCorruption) {
  DatabaseOptions quick;
  quick.busy_timeout = std::chrono::milliseconds(50);
  auto other = Database::open(path(), quick);
  ASSERT_TRUE(other);
  auto tx = Transaction::begin(*db_);
  ASSERT_TRUE(tx);
  auto second = Transaction::begin(**other);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("database is locked"), std::string::npos)
      << second.error().message;
  ASSERT_TRUE(tx->commit());
  EXPECT_TRUE(Transaction::begin(**other));
}

TEST_F(SqliteTest, ReaderSeesConsistentSnapshotsDuringWrites) {
  // Two rows always sum to 100 at every commit; a reader on its own connection and thread must
  // never see a half-applied transaction, and must not be blocked by the writer (WAL).
  ASSERT_TRUE(
      db_->exec("CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);"
                "INSERT INTO acct VALUES (1, 100), (2, 0);"));
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<bool> failed{false};
  std::string reader_error;  // read only after join()
  std::thread reader([&] {
    DatabaseOptions ro;
    ro.read_only = true;
    auto rdb = Database::open(path(), ro);
    if (!rdb) {
      reader_error = rdb.error().message;
      failed = true;
      return;
    }
    while (!done.load() || reads.load() < 10) {
      auto sum = (*rdb)->query_int("SELECT SUM(bal) FROM acct");
      if (!sum) {
        reader_error = sum.error().message;
        failed = true;
        return;
      }
      if (*sum != 100) {
        reader_error = "saw a torn transaction: sum " + std::to_string(*sum);
        failed = true;
        return;
      }
      reads.fetch_add(1);
    }
  });
  for (int i = 0; i < 200; ++i) {
    auto tx = Transaction::begin(*db_);
    ASSERT_TRUE(tx) << tx.error().message;
    ASSERT_TRUE(db_->exec("UPDATE acct SET bal = bal - 1 WHERE id = 1"));
    if (i == 0) {
      // While this write transaction is open, the reader still reads (the old snapshot).
      const int before = reads.load();
      while (reads.load() < before + 3 && !failed.load()) std::this_thread::yield();
    }
    ASSERT_TRUE(db_->exec("UPDATE acct SET bal = bal + 1 WHERE id = 2"));
    ASSERT_TRUE(tx->commit());
  }
  done = true;
  reader.join();
  EXPECT_EQ(reader_error, "");
  EXPECT_GE(reads.load(), 10);
  EXPECT_EQ(*db_->query_int("SELECT bal FROM acct WHERE id = 2"), 200);
}

TEST(SqliteOpen, MissingDirectoryAndGarbageFileFailWithThePath) {
  char tmpl[] = "/tmp/verge_sqlite_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto missing = Database::open(dir + "/no/such/dir/x.db");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find(dir + "/no/such/dir/x.db"), std::string::npos);

  const std::string garbage = dir + "/garbage.db";
  FILE* f = fopen(garbage.c_str(), "w");
  ASSERT_NE(f, nullptr);
  for (int i = 0; i < 1000; ++i) fputs("this is not a database. ", f);
  fclose(f);
  auto bad = Database::open(garbage);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("file is not a database"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find(garbage), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace verge::store
